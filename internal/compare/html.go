package compare

import (
	"fmt"
	"html/template"
	"io"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640
	labelWidth  = 110
	valueWidth  = 90
	barHeight   = 22
	barGap      = 8
	chartMargin = 10
)

type htmlChart struct {
	Metric
	Note   string
	Height int
	Bars   []htmlBar
}

type htmlBar struct {
	Name   string
	Y, W   int
	TextY  int
	Value  string
	Fill   string
	Absent bool
}

// barColors tell the ways apart, in Rows' order.
var barColors = []string{"#7f8c8d", "#2980b9", "#c0392b", "#27ae60", "#8e44ad", "#d35400"}

func charts(r *Report) []htmlChart {
	var cs []htmlChart
	for _, m := range r.Metrics {
		c := htmlChart{Metric: m, Note: "higher is better"}
		if m.Lower {
			c.Note = "lower is better"
		}
		var top float64
		for _, v := range m.Values {
			if v != nil && *v > top {
				top = *v
			}
		}
		for i, v := range m.Values {
			y := chartMargin + i*(barHeight+barGap)
			b := htmlBar{Name: r.Rows[i].Name, Y: y, TextY: y + barHeight*2/3, Value: Format(v), Fill: barColors[i%len(barColors)]}
			if v == nil {
				b.Absent = true
				b.Value = "not measured"
			} else {
				if top > 0 {
					b.W = max(1, int(*v/top*float64(chartWidth-labelWidth-valueWidth)))
				}
				b.Value += " " + m.Unit
			}
			c.Bars = append(c.Bars, b)
		}
		c.Height = 2*chartMargin + len(m.Values)*(barHeight+barGap) - barGap
		cs = append(cs, c)
	}
	return cs
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"format": Format,
	"add":    func(a, b int) int { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mote compare: {{.R.Command}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.75em; border-bottom: 1px solid #ddd; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
section.chart { margin: 1.5em 0; }
section.chart h3 { margin: 0 0 0.25em 0; font-size: 1em; }
section.chart p { margin: 0; color: #666; font-size: 0.85em; }
svg text { font-family: system-ui, sans-serif; font-size: 13px; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.5em; }
</style>
</head>
<body>
<h1>One app, four ways</h1>
<p><code>{{.R.Command}}</code><br>
{{.R.Date.Format "2006-01-02 15:04 UTC"}} on {{.R.Host}}<br>
{{.R.Setup}}</p>
<table>
<tr><th></th>{{range .R.Rows}}<th>{{.Name}}</th>{{end}}</tr>
{{range .R.Metrics}}<tr><td>{{.Title}} ({{.Unit}})</td>{{range .Values}}<td class="n">{{format .}}</td>{{end}}</tr>
{{end}}</table>
<pre>{{range .Notes}}{{.}}
{{end}}</pre>
{{range .Charts}}<section class="chart" data-metric="{{.Key}}">
<h3>{{.Title}} ({{.Unit}})</h3>
<p>{{.Note}}</p>
<svg width="{{$.Width}}" height="{{.Height}}" viewBox="0 0 {{$.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
{{range .Bars}}<text x="0" y="{{.TextY}}">{{.Name}}</text>
{{if .Absent}}<text x="{{$.Label}}" y="{{.TextY}}" fill="#999">{{.Value}}</text>
{{else}}<rect x="{{$.Label}}" y="{{.Y}}" width="{{.W}}" height="{{$.Bar}}" fill="{{.Fill}}"></rect>
<text x="{{add $.Label (add .W 6)}}" y="{{.TextY}}">{{.Value}}</text>
{{end}}{{end}}</svg>
</section>
{{end}}</body>
</html>
`))

// WriteHTML writes the report as one self-contained HTML page: the table, its notes, and a
// bar chart per metric drawn in inline SVG, with nothing fetched from the network.
func (r *Report) WriteHTML(w io.Writer) error {
	err := htmlPage.Execute(w, map[string]any{
		"R": r, "Notes": r.Notes(), "Charts": charts(r),
		"Width": chartWidth, "Label": labelWidth, "Bar": barHeight,
	})
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}
