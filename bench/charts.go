package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Charts are plain hand-built SVG: a few polylines on labelled axes read
// fine in a browser and on GitHub, and need no plotting dependency.

type point struct{ X, Y float64 }

type series struct {
	Name   string
	Points []point
}

// panel is one x/y plot; several panels make one chart file.
type panel struct {
	Title, XLabel, YLabel string
	Series                []series
	Diagonal              bool // draw y = x (achieved vs offered)
}

var seriesColors = map[string]string{
	sysSwitchboard: "#1f77b4",
	sysKamailio:    "#d62728",
	sysSIPp:        "#7f7f7f",
}

var fallbackColors = []string{"#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#1f77b4", "#d62728", "#7f7f7f"}

func colorFor(name string, i int) string {
	if c, ok := seriesColors[name]; ok {
		return c
	}
	return fallbackColors[i%len(fallbackColors)]
}

const (
	panelW, panelH         = 420, 280
	marginL, marginR       = 64, 16
	marginT, marginB       = 32, 44
	chartCols              = 2
	plotW                  = panelW - marginL - marginR
	plotH                  = panelH - marginT - marginB
	legendH                = 28
	chartTitleH            = 30
	svgFont                = `font-family="sans-serif"`
	maxTicks               = 5
	emptyPanelHint         = "no data"
	svgHeader              = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	svgNS                  = "http://www.w3.org/2000/svg"
	textSmall, textNormal  = 11, 13
	strokeWidth, markerRad = 2, 3
)

// renderSVG draws panels in a grid of chartCols columns, with one legend
// for the series names across all panels.
func renderSVG(title string, panels []panel) string {
	rows := (len(panels) + chartCols - 1) / chartCols
	cols := min(chartCols, max(1, len(panels)))
	w := cols * panelW
	var names []string
	for _, p := range panels {
		for _, s := range p.Series {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	// The legend wraps onto as many lines as its names need.
	legendLines, lx := 1, 8
	for _, n := range names {
		if lx > 8 && lx+40+8*len(n) > w {
			legendLines, lx = legendLines+1, 8
		}
		lx += 40 + 8*len(n)
	}
	legend := legendLines * legendH
	h := chartTitleH + legend + rows*panelH
	var b strings.Builder
	b.WriteString(svgHeader)
	fmt.Fprintf(&b, `<svg xmlns="%s" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="%d">`+"\n", svgNS, w, h, w, h, svgFont, textSmall)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", 8, xmlEscape(title))

	x, y := 8, chartTitleH+14
	for i, n := range names {
		if x > 8 && x+40+8*len(n) > w {
			x, y = 8, y+legendH
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`, x, y-4, x+20, y-4, colorFor(n, i))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d">%s</text>`+"\n", x+25, y, textNormal, xmlEscape(n))
		x += 40 + 8*len(n)
	}
	for i, p := range panels {
		ox := (i % chartCols) * panelW
		oy := chartTitleH + legend + (i/chartCols)*panelH
		renderPanel(&b, p, names, ox, oy)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func renderPanel(b *strings.Builder, p panel, names []string, ox, oy int) {
	fmt.Fprintf(b, `<g transform="translate(%d,%d)">`+"\n", ox, oy)
	fmt.Fprintf(b, `<text x="%d" y="18" font-size="%d" font-weight="bold">%s</text>`+"\n", marginL, textNormal, xmlEscape(p.Title))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, marginT, plotW, plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", marginL+plotW/2, panelH-8, xmlEscape(p.XLabel))
	fmt.Fprintf(b, `<text transform="translate(14,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", marginT+plotH/2, xmlEscape(p.YLabel))

	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), 0.0, math.Inf(-1)
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if !finite(pt.X) || !finite(pt.Y) {
				continue
			}
			xmin, xmax = min(xmin, pt.X), max(xmax, pt.X)
			ymin, ymax = min(ymin, pt.Y), max(ymax, pt.Y)
		}
	}
	if math.IsInf(xmax, -1) {
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n</g>\n", marginL+plotW/2, marginT+plotH/2, emptyPanelHint)
		return
	}
	if p.Diagonal {
		ymax = max(ymax, xmax)
	}
	xmin = min(xmin, 0)
	if xmax <= xmin {
		xmax = xmin + 1
	}
	xstep := niceStep(xmax - xmin)
	xmax = math.Ceil(xmax/xstep) * xstep
	if ymax <= ymin {
		ymax = ymin + 1
	}
	ystep := niceStep(ymax - ymin)
	ymax = math.Ceil(ymax/ystep) * ystep
	sx := func(v float64) float64 { return marginL + (v-xmin)/(xmax-xmin)*plotW }
	sy := func(v float64) float64 { return marginT + plotH - (v-ymin)/(ymax-ymin)*plotH }

	for v := xmin; v <= xmax+xstep/2; v += xstep {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`, sx(v), marginT, sx(v), marginT+plotH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", sx(v), marginT+plotH+14, tickLabel(v))
	}
	for v := ymin; v <= ymax+ystep/2; v += ystep {
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, marginL, sy(v), marginL+plotW, sy(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-4, sy(v)+4, tickLabel(v))
	}
	if p.Diagonal {
		top := min(xmax, ymax)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#bbb" stroke-dasharray="4 3"/>`+"\n", sx(0), sy(0), sx(top), sy(top))
	}
	for _, s := range p.Series {
		c := colorFor(s.Name, slices.Index(names, s.Name))
		pts := slices.Clone(s.Points)
		pts = slices.DeleteFunc(pts, func(q point) bool { return !finite(q.X) || !finite(q.Y) })
		slices.SortStableFunc(pts, func(a, c point) int { return cmpFloat(a.X, c.X) })
		var poly strings.Builder
		for _, q := range pts {
			fmt.Fprintf(&poly, "%.1f,%.1f ", sx(q.X), sy(q.Y))
		}
		fmt.Fprintf(b, `<polyline data-series="%s" fill="none" stroke="%s" stroke-width="%d" points="%s"/>`+"\n", xmlEscape(s.Name), c, strokeWidth, strings.TrimSpace(poly.String()))
		for _, q := range pts {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="%d" fill="%s"/>`, sx(q.X), sy(q.Y), markerRad, c)
		}
		b.WriteString("\n")
	}
	b.WriteString("</g>\n")
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceStep is a 1/2/5×10^n tick spacing giving at most maxTicks intervals.
func niceStep(span float64) float64 {
	raw := span / maxTicks
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 10 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return trimZero(fmt.Sprintf("%.2f", v))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// ladderPanels are the four views of one scenario's ladders: every step
// (sustained or not) of every system, against the offered rate.
func ladderPanels(runs []runResult) []panel {
	ps := []panel{
		{Title: "Achieved vs offered", XLabel: "offered ops/s", YLabel: "achieved ops/s", Diagonal: true},
		{Title: "p99 response time", XLabel: "offered ops/s", YLabel: "ms"},
		{Title: "Server CPU per 1,000 ops", XLabel: "offered ops/s", YLabel: "CPU s"},
		{Title: "Peak memory", XLabel: "offered ops/s", YLabel: "MiB"},
	}
	for _, r := range runs {
		if r.Skipped != "" || len(r.Steps) == 0 {
			continue
		}
		var s [4]series
		for i := range s {
			s[i].Name = r.System
		}
		for _, st := range r.Steps {
			s[0].Points = append(s[0].Points, point{st.Offered, st.Achieved})
			s[1].Points = append(s[1].Points, point{st.Offered, st.P99})
			s[2].Points = append(s[2].Points, point{st.Offered, cpuPer1k(st.ServerCPU, st.Successful)})
			if st.PeakMem > 0 {
				s[3].Points = append(s[3].Points, point{st.Offered, float64(st.PeakMem) / (1 << 20)})
			}
		}
		for i := range ps {
			ps[i].Series = append(ps[i].Series, s[i])
		}
	}
	return ps
}

// chartLink is one written chart, relative to the report's folder.
type chartLink struct{ Title, File string }

// writeCharts writes one SVG per scenario (and the overload curve when it
// ran) into dir, named after the report file's base name.
func writeCharts(dir, base string, r *report) ([]chartLink, error) {
	var links []chartLink
	write := func(title, name, svg string) error {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
		links = append(links, chartLink{title, name})
		return nil
	}
	for _, sc := range r.Options.scenarios {
		var runs []runResult
		for _, x := range r.Runs {
			if x.Scenario == sc {
				runs = append(runs, x)
			}
		}
		if len(runs) == 0 {
			continue
		}
		title := sc + ": every ladder step"
		if err := write(title, base+"-"+sc+".svg", renderSVG(title, ladderPanels(runs))); err != nil {
			return links, err
		}
	}
	if len(r.Overload) > 0 {
		title := "overload: R, 2×R, R"
		if err := write(title, base+"-overload.svg", renderSVG(title, overloadPanels(r.Overload))); err != nil {
			return links, err
		}
	}
	return links, nil
}

func chartsMarkdown(links []chartLink) string {
	if len(links) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Charts\n\nEvery ladder step (sustained or not) per system, against the offered rate; the dashed line is achieved = offered.\n\n")
	for _, l := range links {
		fmt.Fprintf(&b, "- [%s](%s)\n", l.Title, l.File)
	}
	b.WriteString("\n")
	for _, l := range links {
		fmt.Fprintf(&b, "![%s](%s)\n\n", l.Title, l.File)
	}
	return b.String()
}
