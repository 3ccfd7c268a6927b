package report

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/glmc/glmc/glmc"
)

// accuracySeries are the accuracy curves of a run, each with its dash
// pattern: top-1 solid, then the many, medium and few groups. A group is
// null in every record of a run without classes in it, and then has no
// curve. Their order is that of glmc.Shot after top-1.
var accuracySeries = []struct {
	name   string
	dashes []vg.Length
	value  func(glmc.EpochRecord) (float64, bool)
}{
	{"top-1", nil, func(r glmc.EpochRecord) (float64, bool) { return r.Top1, true }},
	{"many", []vg.Length{vg.Points(6), vg.Points(3)}, func(r glmc.EpochRecord) (float64, bool) { return r.Many.Percent, r.Many.Valid }},
	{"medium", []vg.Length{vg.Points(2), vg.Points(2)}, func(r glmc.EpochRecord) (float64, bool) { return r.Medium.Percent, r.Medium.Valid }},
	{"few", []vg.Length{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)}, func(r glmc.EpochRecord) (float64, bool) { return r.Few.Percent, r.Few.Valid }},
}

// lineWidth is the width of every curve.
var lineWidth = vg.Points(1.5)

// Curves draws the training curves of runs, one colour per run and named
// by labels (one per run): top-1 and the many/medium/few accuracies, the
// training loss, the learning rate and GLMC's α (cross-entropy runs have
// none), each against the epoch in its own panel. Runs without records
// draw nothing but keep their colour.
func Curves(w io.Writer, im Image, runs []Run, labels []string) error {
	if len(labels) != len(runs) {
		return fmt.Errorf("report: curves: %d labels for %d runs", len(labels), len(runs))
	}
	acc := newPlot("test accuracy (solid top-1; dashed many, medium, few)", "epoch", "%")
	loss := newPlot("training loss", "epoch", "loss")
	lr := newPlot("learning rate", "epoch", "lr")
	alpha := newPlot("GLMC α (weight of the uniform branch)", "epoch", "α")
	var drawn [4]bool // accuracySeries with a curve, for the legend
	for i, r := range runs {
		style := draw.LineStyle{Color: runColor(i), Width: lineWidth}
		groups := shotGroups(r)
		for k, s := range accuracySeries {
			var xys plotter.XYs
			for _, rec := range r.Records {
				if v, ok := s.value(rec); ok && (k == 0 || groups[k-1]) {
					xys = append(xys, plotter.XY{X: float64(rec.Epoch), Y: v})
				}
			}
			drawn[k] = drawn[k] || len(xys) > 0
			dashed := style
			dashed.Dashes = s.dashes
			if err := addSeries(acc, xys, dashed); err != nil {
				return err
			}
		}
		lossXY, lrXY, alphaXY := make(plotter.XYs, len(r.Records)), make(plotter.XYs, len(r.Records)), make(plotter.XYs, len(r.Records))
		for k, rec := range r.Records {
			x := float64(rec.Epoch)
			lossXY[k], lrXY[k], alphaXY[k] = plotter.XY{X: x, Y: rec.Loss}, plotter.XY{X: x, Y: rec.LR}, plotter.XY{X: x, Y: rec.Alpha}
		}
		if r.State != nil && r.State.Config.Method == glmc.MethodCE {
			alphaXY = nil
		}
		for _, s := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{loss, lossXY}, {lr, lrXY}, {alpha, alphaXY}} {
			if err := addSeries(s.p, s.xys, style); err != nil {
				return err
			}
		}
		acc.Legend.Add(labels[i], lineThumb(style))
	}
	for k, s := range accuracySeries {
		if !drawn[k] {
			continue
		}
		acc.Legend.Add(s.name, lineThumb(draw.LineStyle{Color: color.Black, Width: lineWidth, Dashes: s.dashes}))
	}
	acc.Legend.Top, acc.Legend.Left = true, true // accuracy starts low: the emptiest corner
	acc.Y.Min, acc.Y.Max = 0, 100
	alpha.Y.Min, alpha.Y.Max = 0, 1
	plots := [][]*plot.Plot{{acc, loss}, {lr, alpha}}
	return im.draw(w, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
		canvases := plot.Align(plots, tiles, dc)
		for j, row := range plots {
			for i, p := range row {
				p.Draw(canvases[j][i])
			}
		}
	})
}

// shotGroups reports which of the many, medium and few groups the run
// has classes in: all three when it has no State to tell. Metrics written
// before null existed hold 0 for an empty group, which must not draw a
// curve at 0.
func shotGroups(r Run) [3]bool {
	if r.State == nil {
		return [3]bool{true, true, true}
	}
	var groups [3]bool
	for _, n := range r.State.TrainCounts {
		groups[glmc.ShotOf(n)] = true
	}
	return groups
}

// addSeries adds the curve xys to p in style, with a marker on each point
// when there is a single one (a line needs two).
func addSeries(p *plot.Plot, xys plotter.XYs, style draw.LineStyle) error {
	switch len(xys) {
	case 0:
		return nil
	case 1:
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		s.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(s)
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	l.LineStyle = style
	p.Add(l)
	return nil
}

// lineThumb is a legend entry drawn as a short line.
type lineThumb draw.LineStyle

// Thumbnail draws the line across the middle of c.
func (t lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(t), c.Min.X, y, c.Max.X, y)
}
