using System.Globalization;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Re2;
using Pipeline.LogQL.Templates;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.LogQL.Syntax;

/// <summary>A recursive-descent LogQL parser producing the syntax tree (Ast.cs), with Loki's error wording.</summary>
internal sealed class Parser
{
    private static readonly HashSet<string> s_rangeOps =
    [
        "count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time", "sum_over_time", "avg_over_time",
        "min_over_time", "max_over_time", "quantile_over_time", "first_over_time", "last_over_time", "stddev_over_time",
        "stdvar_over_time",
    ];

    private static readonly HashSet<string> s_unwrapOps =
    [
        "sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "quantile_over_time", "first_over_time",
        "last_over_time", "stddev_over_time", "stdvar_over_time",
    ];

    private static readonly HashSet<string> s_groupableRangeOps =
    [
        "avg_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time", "rate", "max_over_time",
        "min_over_time", "first_over_time", "last_over_time",
    ];

    private static readonly HashSet<string> s_vectorOps = ["sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc", "count_values"];

    private static readonly HashSet<string> s_keywords =
    [
        "by", "without", "bool", "on", "ignoring", "and", "or", "unless", "offset", "json", "logfmt", "regexp", "pattern",
        "unpack", "line_format", "label_format", "drop", "keep", "decolorize", "unwrap", "vector", "group_left", "group_right", "label_replace", "distinct",
    ];

    /// <summary>The largest query accepted, in UTF-8 bytes (Loki's limit: an input of this size or more is refused).</summary>
    public const int MaxInputBytes = 128 * 1024;

    /// <summary>
    /// The deepest syntax tree accepted (parentheses, nested aggregations, chains of binary operators and label filters).
    /// Parsing and evaluation recurse over the tree, so this bounds the stack a query can use.
    /// </summary>
    public const int MaxDepth = 256;

    private readonly Lexer _lexer;
    private readonly List<Token> _tokens = [];
    private int _index;
    private int _depth;
    private bool _lokiMatcherRule = true;

    private Parser(string query)
    {
        CheckInput(query);
        _lexer = new Lexer(query);
        while (true)
        {
            var token = _lexer.Next();
            _tokens.Add(token);
            if (token.Kind == TokenKind.End)
            {
                break;
            }
        }
    }

    private Token Current => _tokens[_index];

    private Token PeekAt(int offset) => _tokens[Math.Min(_index + offset, _tokens.Count - 1)];

    public static bool IsKeyword(string text) =>
        s_keywords.Contains(text) || s_rangeOps.Contains(text) || s_vectorOps.Contains(text);

    /// <summary>Parses a whole query.</summary>
    /// <exception cref="LogQLParseException">The query is not valid LogQL.</exception>
    public static Expr Parse(string query)
    {
        var parser = new Parser(query);
        if (parser.Current.Kind == TokenKind.End)
        {
            throw new LogQLParseException("syntax error: unexpected $end", 1, 1);
        }

        var expr = parser.ParseExpr(0);
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Unexpected();
        }

        return expr;
    }

    /// <summary>
    /// Parses a log selector with its pipeline, such as <c>{app="a"} |= "error" | json</c>: Promtail's <c>match</c>
    /// selector. With <paramref name="lokiMatcherRule"/>, LogQL's rule that at least one matcher must not match the empty
    /// string applies; without it (Promtail, where <c>{missing=""}</c> is a fine selector) one matcher of any kind is
    /// enough.
    /// </summary>
    /// <exception cref="LogQLParseException">The text is not a log selector.</exception>
    public static LogSelectorExpr ParseLogSelector(string selector, bool lokiMatcherRule)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var parser = new Parser(selector) { _lokiMatcherRule = lokiMatcherRule };
        if (parser.Current.Kind != TokenKind.LBrace)
        {
            throw parser.Unexpected("{");
        }

        var matchers = parser.ParseMatchers();
        var stages = parser.ParsePipeline(inRange: false, out _);
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Unexpected();
        }

        return new LogSelectorExpr(matchers, stages);
    }

    /// <summary>Parses a bare stream selector such as <c>{app="a", pod=~"x.*"}</c> (as <c>match[]</c> and <c>query</c> parameters carry).</summary>
    public static IReadOnlyList<LabelMatcher> ParseSelector(string selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var parser = new Parser(selector);
        var matchers = parser.ParseMatchers();
        parser.ParsePipeline(inRange: false, out _);
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Unexpected();
        }

        return matchers;
    }

    /// <summary>Refuses what no query may contain before any parsing: over the size limit, NUL, text that was not valid UTF-8.</summary>
    private static void CheckInput(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Length >= MaxInputBytes || System.Text.Encoding.UTF8.GetByteCount(query) >= MaxInputBytes)
        {
            throw new LogQLParseException($"input size too long ({System.Text.Encoding.UTF8.GetByteCount(query)} > {MaxInputBytes})", 0, 0);
        }

        for (var i = 0; i < query.Length; i++)
        {
            var c = query[i];
            if (c == '\0')
            {
                var (line, column) = Lexer.LineColumn(query, i);
                throw new LogQLParseException("invalid character NUL", line, column);
            }

            // U+FFFD is what a decoder leaves for bytes that were not UTF-8; a lone surrogate cannot be encoded at all.
            var invalid = c == '\uFFFD'
                || (char.IsHighSurrogate(c) && (i + 1 >= query.Length || !char.IsLowSurrogate(query[i + 1])))
                || (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(query[i - 1])));
            if (invalid)
            {
                var (line, column) = Lexer.LineColumn(query, i);
                throw new LogQLParseException("invalid UTF-8 encoding", line, column);
            }
        }
    }

    /// <summary>One level deeper in the syntax tree; refused past <see cref="MaxDepth"/>.</summary>
    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw _lexer.Error(Current.Position, $"syntax error: query nests too deeply (more than {MaxDepth} levels)");
        }
    }

    private void Leave(int levels = 1) => _depth -= levels;

    private Token Advance() => _tokens[_index++];

    private bool IsIdent(string text) => Current.Kind == TokenKind.Identifier && string.Equals(Current.Text, text, StringComparison.Ordinal);

    private Token Expect(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            throw Unexpected(Lexer.Symbol(kind));
        }

        return Advance();
    }

    private LogQLParseException Unexpected(string? expecting = null) => Unexpected(Current, expecting);

    private LogQLParseException Unexpected(Token token, string? expecting)
    {
        var detail = "syntax error: unexpected " + token.Display;
        if (expecting is not null)
        {
            detail += ", expecting " + expecting;
        }

        return _lexer.Error(token.Position, detail);
    }

    private static LogQLParseException Semantic(string detail) => new(detail, 0, 0);

    private static int Precedence(Token token) => token.Kind switch
    {
        TokenKind.Identifier when token.Text == "or" => 1,
        TokenKind.Identifier when token.Text is "and" or "unless" => 2,
        TokenKind.CmpEq or TokenKind.Neq or TokenKind.Gt or TokenKind.Gte or TokenKind.Lt or TokenKind.Lte => 3,
        TokenKind.Add or TokenKind.Sub => 4,
        TokenKind.Mul or TokenKind.Div or TokenKind.Mod => 5,
        TokenKind.Pow => 6,
        _ => -1,
    };

    private Expr ParseExpr(int minPrecedence)
    {
        Enter();
        var left = ParseUnary();

        // A chain a + b + c builds a left-deep tree: each operator is one more level.
        var levels = 1;
        while (true)
        {
            var opToken = Current;
            var precedence = Precedence(opToken);
            if (precedence < 0 || precedence < minPrecedence)
            {
                Leave(levels);
                return left;
            }

            Enter();
            levels++;

            if (left is not SampleExpr leftSample)
            {
                throw Unexpected();
            }

            Advance();
            var op = opToken.Kind == TokenKind.Identifier ? opToken.Text : Lexer.Symbol(opToken.Kind);
            var returnBool = false;
            if (IsIdent("bool"))
            {
                if (precedence != 3)
                {
                    throw Semantic("bool modifier can only be used on comparison operators");
                }

                Advance();
                returnBool = true;
            }

            VectorMatching? matching = null;
            if (IsIdent("on") || IsIdent("ignoring"))
            {
                var on = Advance().Text == "on";
                var labels = ParseLabelList();
                var cardinality = MatchCardinality.OneToOne;
                List<string>? include = null;
                if (IsIdent("group_left") || IsIdent("group_right"))
                {
                    var group = Advance().Text;
                    if (precedence <= 2)
                    {
                        throw Semantic($"no grouping allowed for \"{op}\" operation");
                    }

                    cardinality = group == "group_left" ? MatchCardinality.ManyToOne : MatchCardinality.OneToMany;
                    include = Current.Kind == TokenKind.LParen ? ParseLabelList() : [];
                    foreach (var name in include)
                    {
                        if (on && labels.Contains(name))
                        {
                            throw Semantic($"label \"{name}\" must not occur in ON and GROUP clause at once");
                        }
                    }
                }

                matching = new VectorMatching(on, labels, cardinality, include);
            }

            // ^ is right-associative; everything else is left-associative.
            var right = ParseExpr(op == "^" ? precedence : precedence + 1);
            if (right is not SampleExpr rightSample)
            {
                throw Unexpected(opToken, null);
            }

            var binary = new BinaryExpr(op, leftSample, rightSample, returnBool, matching);
            if (binary.IsSetOp && (IsScalar(leftSample) || IsScalar(rightSample)))
            {
                throw Semantic($"set operator \"{op}\" not allowed in binary scalar expression");
            }

            left = binary;
        }
    }

    internal static bool IsScalar(SampleExpr expr) => expr switch
    {
        LiteralExpr => true,
        BinaryExpr b => IsScalar(b.Left) && IsScalar(b.Right),
        _ => false,
    };

    private Expr ParseUnary()
    {
        if (Current.Kind is TokenKind.Sub or TokenKind.Add)
        {
            var negative = Advance().Kind == TokenKind.Sub;
            Enter();
            var operand = ParseUnary();
            Leave();
            if (operand is not SampleExpr sample)
            {
                throw Unexpected();
            }

            if (!negative)
            {
                return sample;
            }

            return sample is LiteralExpr literal ? new LiteralExpr(-literal.Value) : new BinaryExpr("*", new LiteralExpr(-1), sample, false, null);
        }

        return ParsePrimary();
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.LParen:
                {
                    Advance();
                    var inner = ParseExpr(0);
                    Expect(TokenKind.RParen);
                    return inner;
                }

            case TokenKind.Number:
                Advance();
                return new LiteralExpr(double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture));
            case TokenKind.LBrace:
                {
                    var matchers = ParseMatchers();
                    var stages = ParsePipeline(inRange: false, out _);
                    return new LogSelectorExpr(matchers, stages);
                }

            case TokenKind.Identifier when s_rangeOps.Contains(token.Text):
                return ParseRangeAggregation();
            case TokenKind.Identifier when s_vectorOps.Contains(token.Text):
                return ParseVectorAggregation();
            case TokenKind.Identifier when token.Text == "label_replace":
                return ParseLabelReplace();
            case TokenKind.Identifier when token.Text == "vector":
                {
                    Advance();
                    Expect(TokenKind.LParen);
                    var value = ParseSignedNumber();
                    Expect(TokenKind.RParen);
                    return new VectorLiteralExpr(value);
                }

            default:
                throw Unexpected();
        }
    }

    private double ParseSignedNumber()
    {
        var negative = false;
        if (Current.Kind is TokenKind.Sub or TokenKind.Add)
        {
            negative = Advance().Kind == TokenKind.Sub;
        }

        var token = Expect(TokenKind.Number);
        var value = double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }

    private List<LabelMatcher> ParseMatchers()
    {
        Expect(TokenKind.LBrace);
        List<LabelMatcher> matchers = [];
        if (Current.Kind != TokenKind.RBrace)
        {
            while (true)
            {
                matchers.Add(ParseMatcher());
                if (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    continue;
                }

                if (Current.Kind == TokenKind.RBrace)
                {
                    break;
                }

                throw Unexpected(", or }");
            }
        }

        Advance();
        var hasNonEmpty = false;
        foreach (var matcher in matchers)
        {
            if (matcher.Type is LabelMatchType.Equal or LabelMatchType.Regex && !matcher.Matches(string.Empty))
            {
                hasNonEmpty = true;
            }
        }

        if (!_lokiMatcherRule && matchers.Count == 0)
        {
            throw Semantic("a selector needs at least one label matcher, such as {app=\"api\"}");
        }

        if (_lokiMatcherRule && !hasNonEmpty)
        {
            throw Semantic("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will");
        }

        return matchers;
    }

    private LabelMatcher ParseMatcher()
    {
        var name = Current;
        if (name.Kind != TokenKind.Identifier)
        {
            throw Unexpected("IDENTIFIER");
        }

        Advance();
        var type = Current.Kind switch
        {
            TokenKind.Eq => LabelMatchType.Equal,
            TokenKind.Neq => LabelMatchType.NotEqual,
            TokenKind.Re => LabelMatchType.Regex,
            TokenKind.Nre => LabelMatchType.NotRegex,
            _ => throw Unexpected("= or =~ or !~ or !="),
        };
        Advance();
        var value = Current;
        if (value.Kind != TokenKind.String)
        {
            throw Unexpected("STRING");
        }

        Advance();
        return NewMatcher(name.Text, type, value);
    }

    private LabelMatcher NewMatcher(string name, LabelMatchType type, Token value)
    {
        try
        {
            return new LabelMatcher(name, type, value.Text);
        }
        catch (ArgumentException ex)
        {
            throw _lexer.Error(value.Position, ex.Message);
        }
    }

    private static bool IsLineFilterOp(TokenKind kind) => kind is TokenKind.PipeExact or TokenKind.PipeMatch or TokenKind.Neq or TokenKind.Nre
        or TokenKind.PipePattern or TokenKind.NotPattern;

    /// <summary>Parses pipeline stages until something that is not one; in a range, also <c>| unwrap</c> and the filters after it.</summary>
    private List<StageExpr> ParsePipeline(bool inRange, out UnwrapExpr? unwrap)
    {
        List<StageExpr> stages = [];
        unwrap = null;
        List<LabelFilter>? postFilters = null;
        while (true)
        {
            if (IsLineFilterOp(Current.Kind) && PeekAt(1).Kind == TokenKind.String)
            {
                if (unwrap is not null)
                {
                    throw Unexpected();
                }

                stages.Add(ParseLineFilter());
                continue;
            }

            if (Current.Kind != TokenKind.Pipe)
            {
                break;
            }

            Advance();
            if (postFilters is not null)
            {
                postFilters.Add(ParseLabelFilterOr());
                continue;
            }

            if (IsIdent("unwrap") && !IsFilterOp(PeekAt(1).Kind))
            {
                if (!inRange)
                {
                    throw Unexpected();
                }

                var (label, conversion) = ParseUnwrap();
                postFilters = [];
                unwrap = new UnwrapExpr(label, conversion, postFilters);
                continue;
            }

            if (IsIdent("distinct") && PeekAt(1).Kind == TokenKind.Identifier)
            {
                if (inRange)
                {
                    throw Semantic("distinct is only supported in log queries");
                }

                Advance();
                List<string> labels = [Expect(TokenKind.Identifier).Text];
                while (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    labels.Add(Expect(TokenKind.Identifier).Text);
                }

                stages.Add(new DistinctExpr(labels));
                continue;
            }

            stages.Add(ParseStage());
        }

        return stages;
    }

    private LineFilterExpr ParseLineFilter()
    {
        var op = Advance().Kind switch
        {
            TokenKind.PipeExact => LineFilterOp.Contains,
            TokenKind.Neq => LineFilterOp.NotContains,
            TokenKind.PipeMatch => LineFilterOp.Match,
            TokenKind.PipePattern => LineFilterOp.Pattern,
            TokenKind.NotPattern => LineFilterOp.NotPattern,
            _ => LineFilterOp.NotMatch,
        };
        List<string> values = [ExpectFilterValue(op)];
        while (IsIdent("or") && PeekAt(1).Kind == TokenKind.String)
        {
            Advance();
            values.Add(ExpectFilterValue(op));
        }

        return new LineFilterExpr(op, values);
    }

    private string ExpectFilterValue(LineFilterOp op)
    {
        var token = Expect(TokenKind.String);
        if (op is LineFilterOp.Match or LineFilterOp.NotMatch)
        {
            try
            {
                _ = Re2Regex.Compile(token.Text);
            }
            catch (ArgumentException ex)
            {
                throw _lexer.Error(token.Position, ex.Message);
            }
        }
        else if (op is LineFilterOp.Pattern or LineFilterOp.NotPattern)
        {
            try
            {
                _ = PatternExtractor.ForLineFilter(token.Text);
            }
            catch (FormatException ex)
            {
                throw _lexer.Error(token.Position, ex.Message);
            }
        }

        return token.Text;
    }

    private (string Label, string? Conversion) ParseUnwrap()
    {
        Advance();
        if (Current.Kind == TokenKind.Identifier && PeekAt(1).Kind == TokenKind.LParen)
        {
            var conversion = Advance();
            if (conversion.Text is not ("duration" or "duration_seconds" or "bytes"))
            {
                throw Unexpected(conversion, "IDENTIFIER");
            }

            Advance();
            var label = Expect(TokenKind.Identifier).Text;
            Expect(TokenKind.RParen);
            return (label, conversion.Text);
        }

        return (Expect(TokenKind.Identifier).Text, null);
    }

    private static bool IsFilterOp(TokenKind kind) => kind is TokenKind.Eq or TokenKind.Neq or TokenKind.Re or TokenKind.Nre
        or TokenKind.CmpEq or TokenKind.Gt or TokenKind.Gte or TokenKind.Lt or TokenKind.Lte;

    private StageExpr ParseStage()
    {
        var token = Current;
        if (token.Kind == TokenKind.LParen || (token.Kind == TokenKind.Identifier && IsFilterOp(PeekAt(1).Kind)))
        {
            return new LabelFilterStageExpr(ParseLabelFilterOr());
        }

        if (token.Kind != TokenKind.Identifier)
        {
            throw Unexpected();
        }

        switch (token.Text)
        {
            case "json":
                Advance();
                return new JsonParserExpr(ParseExtractionParams());
            case "logfmt":
                {
                    Advance();
                    bool strict = false, keepEmpty = false;
                    while (Current.Kind == TokenKind.Flag)
                    {
                        var flag = Advance();
                        switch (flag.Text)
                        {
                            case "--strict": strict = true; break;
                            case "--keep-empty": keepEmpty = true; break;
                            default: throw _lexer.Error(flag.Position, $"syntax error: invalid logfmt flag '{flag.Text}', expecting --strict or --keep-empty");
                        }
                    }

                    return new LogfmtParserExpr(strict, keepEmpty, ParseExtractionParams());
                }

            case "regexp":
                {
                    Advance();
                    var pattern = Expect(TokenKind.String);
                    try
                    {
                        _ = new RegexpExtractor(pattern.Text, labelNames: true);
                    }
                    catch (Exception ex) when (ex is ArgumentException or FormatException)
                    {
                        throw _lexer.Error(pattern.Position, ex.Message);
                    }

                    return new RegexpParserExpr(pattern.Text);
                }

            case "pattern":
                {
                    Advance();
                    var pattern = Expect(TokenKind.String);
                    try
                    {
                        _ = new PatternExtractor(pattern.Text);
                    }
                    catch (FormatException ex)
                    {
                        throw _lexer.Error(pattern.Position, ex.Message);
                    }

                    return new PatternParserExpr(pattern.Text);
                }

            case "unpack":
                Advance();
                return new UnpackParserExpr();
            case "decolorize":
                Advance();
                return new DecolorizeExpr();
            case "line_format":
                {
                    Advance();
                    var template = Expect(TokenKind.String);
                    CheckTemplate(template);
                    return new LineFormatExpr(template.Text);
                }

            case "label_format":
                {
                    Advance();
                    List<LabelFormatItem> items = [];
                    do
                    {
                        if (items.Count > 0)
                        {
                            Advance();
                        }

                        var target = Expect(TokenKind.Identifier).Text;
                        Expect(TokenKind.Eq);
                        if (Current.Kind == TokenKind.String)
                        {
                            var template = Advance();
                            CheckTemplate(template);
                            items.Add(new LabelFormatItem(target, template.Text, true));
                        }
                        else if (Current.Kind == TokenKind.Identifier)
                        {
                            items.Add(new LabelFormatItem(target, Advance().Text, false));
                        }
                        else
                        {
                            throw Unexpected("IDENTIFIER or STRING");
                        }
                    }
                    while (Current.Kind == TokenKind.Comma);
                    return new LabelFormatExpr(items);
                }

            case "drop" or "keep":
                {
                    var keep = Advance().Text == "keep";
                    List<DropKeepItem> items = [];
                    do
                    {
                        if (items.Count > 0)
                        {
                            Advance();
                        }

                        var name = Expect(TokenKind.Identifier);
                        if (Current.Kind is TokenKind.Eq or TokenKind.Neq or TokenKind.Re or TokenKind.Nre)
                        {
                            _index--;
                            items.Add(new DropKeepItem(name.Text, ParseMatcher()));
                        }
                        else
                        {
                            items.Add(new DropKeepItem(name.Text, null));
                        }
                    }
                    while (Current.Kind == TokenKind.Comma);
                    return new DropLabelsExpr(keep, items);
                }

            default:
                throw Unexpected(PeekAt(1), null);
        }
    }

    private void CheckTemplate(Token template)
    {
        try
        {
            _ = LineTemplates.Parse(template.Text);
        }
        catch (FormatException ex)
        {
            throw _lexer.Error(template.Position, ex.Message);
        }
    }

    private List<ExtractionParam> ParseExtractionParams()
    {
        List<ExtractionParam> parameters = [];
        if (Current.Kind != TokenKind.Identifier || IsFilterOp(PeekAt(1).Kind) && PeekAt(1).Kind != TokenKind.Eq)
        {
            return parameters;
        }

        while (true)
        {
            var label = Expect(TokenKind.Identifier).Text;
            if (Current.Kind == TokenKind.Eq)
            {
                Advance();
                parameters.Add(new ExtractionParam(label, Expect(TokenKind.String).Text));
            }
            else
            {
                parameters.Add(new ExtractionParam(label, label));
            }

            if (Current.Kind != TokenKind.Comma)
            {
                return parameters;
            }

            Advance();
        }
    }

    private LabelFilter ParseLabelFilterOr()
    {
        Enter();
        var left = ParseLabelFilterAnd();
        var levels = 1;
        while (IsIdent("or"))
        {
            Advance();
            Enter();
            levels++;
            left = new BinaryLabelFilter(false, left, ParseLabelFilterAnd());
        }

        Leave(levels);
        return left;
    }

    private LabelFilter ParseLabelFilterAnd()
    {
        var left = ParseLabelFilterUnary();
        var levels = 0;
        while (IsIdent("and") || Current.Kind == TokenKind.Comma)
        {
            Advance();
            Enter();
            levels++;
            left = new BinaryLabelFilter(true, left, ParseLabelFilterUnary());
        }

        Leave(levels);
        return left;
    }

    private LabelFilter ParseLabelFilterUnary()
    {
        if (Current.Kind == TokenKind.LParen)
        {
            Advance();
            Enter();
            var inner = ParseLabelFilterOr();
            Leave();
            Expect(TokenKind.RParen);
            return inner;
        }

        var name = Current;
        if (name.Kind != TokenKind.Identifier)
        {
            throw Unexpected("IDENTIFIER");
        }

        Advance();
        var opToken = Current;
        if (!IsFilterOp(opToken.Kind))
        {
            throw Unexpected("= or != or =~ or !~ or == or > or >= or < or <=");
        }

        Advance();
        var value = Current;
        if (value.Kind == TokenKind.Identifier && value.Text == "ip" && PeekAt(1).Kind == TokenKind.LParen
            && opToken.Kind is TokenKind.Eq or TokenKind.CmpEq or TokenKind.Neq)
        {
            Advance();
            Advance();
            var pattern = Expect(TokenKind.String);
            Expect(TokenKind.RParen);
            try
            {
                return new IpLabelFilter(name.Text, opToken.Kind == TokenKind.Neq, new Matching.IpMatcher(pattern.Text));
            }
            catch (FormatException ex)
            {
                throw _lexer.Error(pattern.Position, ex.Message);
            }
        }

        if (value.Kind == TokenKind.String)
        {
            var type = opToken.Kind switch
            {
                TokenKind.Eq or TokenKind.CmpEq => LabelMatchType.Equal,
                TokenKind.Neq => LabelMatchType.NotEqual,
                TokenKind.Re => LabelMatchType.Regex,
                TokenKind.Nre => LabelMatchType.NotRegex,
                _ => throw Unexpected(value, "NUMBER or DURATION or BYTES"),
            };
            Advance();
            return new StringLabelFilter(NewMatcher(name.Text, type, value));
        }

        var op = opToken.Kind switch
        {
            TokenKind.Eq or TokenKind.CmpEq => CompareOp.Equal,
            TokenKind.Neq => CompareOp.NotEqual,
            TokenKind.Gt => CompareOp.Greater,
            TokenKind.Gte => CompareOp.GreaterOrEqual,
            TokenKind.Lt => CompareOp.Less,
            TokenKind.Lte => CompareOp.LessOrEqual,
            _ => throw Unexpected(value, "STRING"),
        };

        var negative = false;
        if (value.Kind == TokenKind.Sub)
        {
            negative = true;
            Advance();
            value = Current;
        }

        double number;
        NumericKind kind;
        switch (value.Kind)
        {
            case TokenKind.Number:
                number = double.Parse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
                kind = NumericKind.Number;
                break;
            case TokenKind.Duration:
                _ = GoDuration.TryParse(value.Text, out long ns);
                number = ns / (double)GoDuration.Second;
                kind = NumericKind.Duration;
                break;
            case TokenKind.Bytes:
                _ = ByteSize.TryParse(value.Text, ByteUnits.Humanized, out number);
                kind = NumericKind.Bytes;
                break;
            default:
                throw Unexpected("STRING or NUMBER or DURATION or BYTES");
        }

        Advance();
        return new NumericLabelFilter(name.Text, op, kind, negative ? -number : number, (negative ? "-" : string.Empty) + value.Text);
    }

    private List<string> ParseLabelList()
    {
        Expect(TokenKind.LParen);
        List<string> labels = [];
        if (Current.Kind != TokenKind.RParen)
        {
            while (true)
            {
                if (Current.Kind != TokenKind.Identifier)
                {
                    throw Unexpected("IDENTIFIER");
                }

                labels.Add(Advance().Text);
                if (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    continue;
                }

                if (Current.Kind != TokenKind.RParen)
                {
                    throw Unexpected(", or )");
                }

                break;
            }
        }

        Advance();
        return labels;
    }

    private Grouping? ParseOptionalGrouping()
    {
        if (IsIdent("by") || IsIdent("without"))
        {
            var without = Advance().Text == "without";
            return new Grouping(without, ParseLabelList());
        }

        return null;
    }

    private RangeAggregationExpr ParseRangeAggregation()
    {
        var op = Advance().Text;
        Expect(TokenKind.LParen);
        double? parameter = null;
        if (op == "quantile_over_time")
        {
            parameter = ParseSignedNumber();
            Expect(TokenKind.Comma);
        }

        var range = ParseLogRange();
        Expect(TokenKind.RParen);
        var grouping = ParseOptionalGrouping();
        if (grouping is not null && !s_groupableRangeOps.Contains(op))
        {
            throw Semantic($"grouping not allowed for {op} aggregation");
        }

        if (range.Unwrap is not null && !s_unwrapOps.Contains(op) && op != "rate")
        {
            throw Semantic($"invalid aggregation {op} with unwrap");
        }

        if (range.Unwrap is null && s_unwrapOps.Contains(op))
        {
            throw Semantic($"invalid aggregation {op} without unwrap");
        }

        if (range.Unwrap is null && grouping is not null)
        {
            throw Semantic($"grouping not allowed for {op} aggregation without unwrap");
        }

        return new RangeAggregationExpr(op, range, parameter, grouping);
    }

    private LogRangeExpr ParseLogRange()
    {
        LogSelectorExpr selector;
        UnwrapExpr? unwrap;
        long? range = null;
        long offset = 0;
        if (Current.Kind == TokenKind.LParen)
        {
            Advance();
            if (Current.Kind == TokenKind.LParen)
            {
                Enter();
                var nested = ParseLogRange();
                Leave();
                Expect(TokenKind.RParen);
                return nested;
            }

            var matchers = ParseMatchers();
            var stages = ParsePipeline(inRange: true, out unwrap);
            selector = new LogSelectorExpr(matchers, stages);
            if (Current.Kind == TokenKind.LBracket)
            {
                (range, offset) = ParseRangeAndOffset();
                Expect(TokenKind.RParen);
                return new LogRangeExpr(selector, range.Value, offset, unwrap);
            }

            Expect(TokenKind.RParen);
        }
        else
        {
            if (Current.Kind != TokenKind.LBrace)
            {
                throw Unexpected("{ or (");
            }

            var matchers = ParseMatchers();
            var stages = ParsePipeline(inRange: true, out unwrap);
            selector = new LogSelectorExpr(matchers, stages);
        }

        if (Current.Kind != TokenKind.LBracket)
        {
            throw Unexpected("[");
        }

        (range, offset) = ParseRangeAndOffset();
        if (IsLineFilterOp(Current.Kind) || Current.Kind == TokenKind.Pipe)
        {
            if (unwrap is not null)
            {
                throw Unexpected();
            }

            var more = ParsePipeline(inRange: true, out unwrap);
            selector = new LogSelectorExpr(selector.Matchers, [.. selector.Stages, .. more]);
        }

        return new LogRangeExpr(selector, range.Value, offset, unwrap);
    }

    private (long Range, long Offset) ParseRangeAndOffset()
    {
        Expect(TokenKind.LBracket);
        var duration = Current;
        if (duration.Kind != TokenKind.Duration || !GoDuration.TryParse(duration.Text, out long range) || range <= 0)
        {
            throw Unexpected("DURATION");
        }

        Advance();
        Expect(TokenKind.RBracket);
        long offset = 0;
        if (IsIdent("offset"))
        {
            Advance();
            var offsetToken = Current;
            if (offsetToken.Kind != TokenKind.Duration || !GoDuration.TryParse(offsetToken.Text, out offset))
            {
                throw Unexpected("DURATION");
            }

            Advance();
        }

        return (range, offset);
    }

    private VectorAggregationExpr ParseVectorAggregation()
    {
        var op = Advance().Text;
        var grouping = ParseOptionalGrouping();
        Expect(TokenKind.LParen);
        double? parameter = null;
        if (op is "topk" or "bottomk")
        {
            var token = Current;
            parameter = ParseSignedNumber();
            if (parameter <= 0 || parameter != Math.Floor(parameter.Value))
            {
                throw _lexer.Error(token.Position, $"invalid parameter for {op}: must be a positive integer, got {token.Text}");
            }

            Expect(TokenKind.Comma);
        }

        string? label = null;
        if (op == "count_values")
        {
            var token = Expect(TokenKind.String);
            if (!Label.IsValidName(token.Text))
            {
                throw _lexer.Error(token.Position, $"invalid label name \"{token.Text}\"");
            }

            label = token.Text;
            Expect(TokenKind.Comma);
        }

        var inner = ParseExpr(0);
        if (inner is not SampleExpr sample)
        {
            throw Unexpected();
        }

        Expect(TokenKind.RParen);
        if (grouping is null)
        {
            grouping = ParseOptionalGrouping();
        }
        else if (IsIdent("by") || IsIdent("without"))
        {
            throw Unexpected();
        }

        if (grouping is not null && op is "sort" or "sort_desc")
        {
            throw Semantic($"grouping not allowed for {op} aggregation");
        }

        return new VectorAggregationExpr(op, sample, parameter, grouping, label);
    }

    private LabelReplaceExpr ParseLabelReplace()
    {
        Advance();
        Expect(TokenKind.LParen);
        Enter();
        var inner = ParseExpr(0);
        Leave();
        if (inner is not SampleExpr sample)
        {
            throw Unexpected();
        }

        var arguments = new Token[4];
        for (var i = 0; i < arguments.Length; i++)
        {
            Expect(TokenKind.Comma);
            arguments[i] = Expect(TokenKind.String);
        }

        Expect(TokenKind.RParen);
        var destination = arguments[0];
        if (!Label.IsValidName(destination.Text))
        {
            throw _lexer.Error(destination.Position, $"invalid destination label name in label_replace(): {destination.Text}");
        }

        if (!Label.IsValidName(arguments[2].Text))
        {
            throw _lexer.Error(arguments[2].Position, $"invalid source label name in label_replace(): {arguments[2].Text}");
        }

        try
        {
            return new LabelReplaceExpr(sample, destination.Text, arguments[1].Text, arguments[2].Text, arguments[3].Text);
        }
        catch (ArgumentException ex)
        {
            throw _lexer.Error(arguments[3].Position, ex.Message);
        }
    }
}
