using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Sources.Files;

namespace Pipeline.Samples.Agent;

/// <summary>The <c>/targets</c> page: every watched file by job, with its positions and state, like Promtail's.</summary>
internal static class TargetsPage
{
    public static string Render(IReadOnlyDictionary<string, FileTailSource> sources)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Targets</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}")
            .Append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}.num{text-align:right}")
            .Append("</style></head><body><h1>Targets</h1>");
        foreach (var (job, source) in sources.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var targets = source.Targets;
            html.Append("<h2>").Append(WebUtility.HtmlEncode(job)).Append(" (").Append(targets.Count).Append(" files)</h2>")
                .Append("<table><tr><th>path</th><th>labels</th><th>state</th><th>read</th><th>committed</th><th>size</th></tr>");
            foreach (var target in targets.OrderBy(t => t.Path, StringComparer.Ordinal))
            {
                html.Append("<tr><td>").Append(WebUtility.HtmlEncode(target.Path))
                    .Append("</td><td>").Append(WebUtility.HtmlEncode(target.Labels.WithoutInternal().ToString()))
                    .Append("</td><td>").Append(target.State)
                    .Append("</td><td class=\"num\">").Append(target.ReadPosition.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td class=\"num\">").Append(target.CommittedPosition.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td class=\"num\">").Append(target.Size.ToString(CultureInfo.InvariantCulture))
                    .Append("</td></tr>");
            }

            html.Append("</table>");
        }

        return html.Append("</body></html>").ToString();
    }
}
