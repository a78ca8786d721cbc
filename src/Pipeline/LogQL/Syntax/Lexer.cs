using System.Globalization;
using System.Text;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.LogQL.Syntax;

internal enum TokenKind
{
    End,
    Identifier,
    String,
    Number,
    Duration,
    Bytes,
    Flag,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Neq,
    Re,
    Nre,
    PipeExact,
    PipeMatch,
    PipePattern,
    NotPattern,
    Pipe,
    CmpEq,
    Gt,
    Gte,
    Lt,
    Lte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// <summary>A token: its kind, its text (the unquoted value for strings) and where it starts in the query.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Position)
{
    /// <summary>How an error message names this token, as Loki's yacc parser does.</summary>
    public string Display => Kind switch
    {
        TokenKind.End => "$end",
        TokenKind.Identifier => Parser.IsKeyword(Text) ? Text : "IDENTIFIER",
        TokenKind.String => "STRING",
        TokenKind.Number => "NUMBER",
        TokenKind.Duration => "DURATION",
        TokenKind.Bytes => "BYTES",
        TokenKind.Flag => Text,
        _ => Lexer.Symbol(Kind),
    };
}

/// <summary>Splits a LogQL query into tokens.</summary>
internal sealed class Lexer(string text)
{
    private readonly string _text = text;
    private int _pos;

    public static string Symbol(TokenKind kind) => kind switch
    {
        TokenKind.LBrace => "{",
        TokenKind.RBrace => "}",
        TokenKind.LParen => "(",
        TokenKind.RParen => ")",
        TokenKind.LBracket => "[",
        TokenKind.RBracket => "]",
        TokenKind.Comma => ",",
        TokenKind.Eq => "=",
        TokenKind.Neq => "!=",
        TokenKind.Re => "=~",
        TokenKind.Nre => "!~",
        TokenKind.PipeExact => "|=",
        TokenKind.PipeMatch => "|~",
        TokenKind.PipePattern => "|>",
        TokenKind.NotPattern => "!>",
        TokenKind.Pipe => "|",
        TokenKind.CmpEq => "==",
        TokenKind.Gt => ">",
        TokenKind.Gte => ">=",
        TokenKind.Lt => "<",
        TokenKind.Lte => "<=",
        TokenKind.Add => "+",
        TokenKind.Sub => "-",
        TokenKind.Mul => "*",
        TokenKind.Div => "/",
        TokenKind.Mod => "%",
        TokenKind.Pow => "^",
        TokenKind.Identifier => "IDENTIFIER",
        TokenKind.String => "STRING",
        TokenKind.Number => "NUMBER",
        TokenKind.Duration => "DURATION",
        TokenKind.Bytes => "BYTES",
        _ => kind.ToString(),
    };

    public Token Next()
    {
        SkipSpaceAndComments();
        if (_pos >= _text.Length)
        {
            return new Token(TokenKind.End, string.Empty, _text.Length);
        }

        var start = _pos;
        var c = _text[_pos];
        char Peek(int offset) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';
        Token Sym(TokenKind kind, int length)
        {
            _pos += length;
            return new Token(kind, _text.Substring(start, length), start);
        }

        switch (c)
        {
            case '{': return Sym(TokenKind.LBrace, 1);
            case '}': return Sym(TokenKind.RBrace, 1);
            case '(': return Sym(TokenKind.LParen, 1);
            case ')': return Sym(TokenKind.RParen, 1);
            case '[': return Sym(TokenKind.LBracket, 1);
            case ']': return Sym(TokenKind.RBracket, 1);
            case ',': return Sym(TokenKind.Comma, 1);
            case '+': return Sym(TokenKind.Add, 1);
            case '*': return Sym(TokenKind.Mul, 1);
            case '/': return Sym(TokenKind.Div, 1);
            case '%': return Sym(TokenKind.Mod, 1);
            case '^': return Sym(TokenKind.Pow, 1);
            case '=':
                return Peek(1) switch
                {
                    '=' => Sym(TokenKind.CmpEq, 2),
                    '~' => Sym(TokenKind.Re, 2),
                    _ => Sym(TokenKind.Eq, 1),
                };
            case '!':
                return Peek(1) switch
                {
                    '=' => Sym(TokenKind.Neq, 2),
                    '~' => Sym(TokenKind.Nre, 2),
                    '>' => Sym(TokenKind.NotPattern, 2),
                    _ => throw Error(start, "syntax error: unexpected character '!'"),
                };
            case '|':
                return Peek(1) switch
                {
                    '=' => Sym(TokenKind.PipeExact, 2),
                    '~' => Sym(TokenKind.PipeMatch, 2),
                    '>' => Sym(TokenKind.PipePattern, 2),
                    _ => Sym(TokenKind.Pipe, 1),
                };
            case '>': return Peek(1) == '=' ? Sym(TokenKind.Gte, 2) : Sym(TokenKind.Gt, 1);
            case '<': return Peek(1) == '=' ? Sym(TokenKind.Lte, 2) : Sym(TokenKind.Lt, 1);
            case '-':
                if (Peek(1) == '-' && char.IsAsciiLetter(Peek(2)))
                {
                    _pos += 2;
                    while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '-' || _text[_pos] == '_'))
                    {
                        _pos++;
                    }

                    return new Token(TokenKind.Flag, _text[start.._pos], start);
                }

                return Sym(TokenKind.Sub, 1);
            case '"':
                return ReadQuoted(start);
            case '`':
                {
                    var end = _text.IndexOf('`', start + 1);
                    if (end < 0)
                    {
                        throw Error(start, "syntax error: unterminated raw string");
                    }

                    _pos = end + 1;
                    return new Token(TokenKind.String, _text[(start + 1)..end], start);
                }
        }

        if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(Peek(1))))
        {
            return ReadNumberLike(start);
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
            {
                _pos++;
            }

            return new Token(TokenKind.Identifier, _text[start.._pos], start);
        }

        throw Error(start, $"syntax error: unexpected character '{c}'");
    }

    private Token ReadNumberLike(int start)
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (char.IsAsciiLetterOrDigit(c) || c == '.' || c == 'µ' || c == 'μ')
            {
                _pos++;
            }
            else if ((c == '+' || c == '-') && _pos > start && (_text[_pos - 1] == 'e' || _text[_pos - 1] == 'E')
                && IsDigits(_text.AsSpan(start, _pos - 1 - start)))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }

        var text = _text[start.._pos];
        if (IsNumberSyntax(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return new Token(TokenKind.Number, text, start);
        }

        if (GoDuration.TryParse(text, out long _))
        {
            return new Token(TokenKind.Duration, text, start);
        }

        if (ByteSize.TryParse(text, ByteUnits.Humanized, out double _))
        {
            return new Token(TokenKind.Bytes, text, start);
        }

        throw Error(start, $"syntax error: invalid number, duration or byte size '{text}'");
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }

        return !text.IsEmpty;
    }

    private static bool IsNumberSyntax(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    private Token ReadQuoted(int start)
    {
        var builder = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error(start, "syntax error: unterminated string");
            }

            var c = _text[_pos++];
            if (c == '"')
            {
                return new Token(TokenKind.String, builder.ToString(), start);
            }

            if (c == '\n')
            {
                throw Error(start, "syntax error: newline in string");
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (_pos >= _text.Length)
            {
                throw Error(start, "syntax error: unterminated string");
            }

            var escapeAt = _pos - 1;
            if (!LabelText.TryReadEscape(_text, ref _pos, builder))
            {
                throw Error(escapeAt, $"syntax error: invalid escape sequence '\\{_text[escapeAt + 1]}' in string");
            }
        }
    }

    private void SkipSpaceAndComments()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    public LogQLParseException Error(int position, string detail)
    {
        var (line, col) = LineColumn(_text, position);
        return new LogQLParseException(detail, line, col);
    }

    public static (int Line, int Column) LineColumn(string text, int position)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < position && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, position - lineStart + 1);
    }
}
