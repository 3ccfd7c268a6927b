package report

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/glmc/glmc/glmc"
)

// maxTickLabels is the most class names an axis prints; with more classes
// it names every k-th.
const maxTickLabels = 50

// PerClass draws the top-1 accuracy of each class at the run's best epoch
// as bars coloured by many/medium/few, the last epoch's as dots (when it
// is another epoch), with the classes sorted by training images, most
// first; a panel above shows those training images on a log axis, aligned
// with the bars. names are the class names (one per class). The run needs
// records and a State.
func PerClass(w io.Writer, im Image, run Run, names []string) error {
	if run.State == nil || len(run.Records) == 0 {
		return fmt.Errorf("report: per-class: %s: want a checkpoint state and at least one epoch record", run.Dir)
	}
	counts := run.State.TrainCounts
	bestRec, lastRec := run.Records[run.Best()], run.Records[len(run.Records)-1]
	for _, rec := range []glmc.EpochRecord{bestRec, lastRec} {
		if len(rec.PerClass) != len(counts) {
			return fmt.Errorf("report: per-class: %s: epoch %d has %d per-class accuracies for %d classes", run.Dir, rec.Epoch, len(rec.PerClass), len(counts))
		}
	}
	if len(names) != len(counts) {
		return fmt.Errorf("report: per-class: %d class names for %d classes", len(names), len(counts))
	}
	order := make([]int, len(counts)) // classes, most training images first
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(counts[b], counts[a]) })

	best := bars{values: make([]float64, len(order)), colors: make([]color.Color, len(order))}
	train := bars{values: make([]float64, len(order)), colors: make([]color.Color, len(order))}
	var last plotter.XYs
	ticks := make([]plot.Tick, len(order))
	step := (len(order) + maxTickLabels - 1) / maxTickLabels
	groups := shotGroups(run)
	for i, c := range order {
		shot := glmc.ShotOf(counts[c])
		best.values[i], best.colors[i] = bestRec.PerClass[c], shotColors[shot]
		train.values[i], train.colors[i] = float64(counts[c]), color.Gray{Y: 0xa0}
		last = append(last, plotter.XY{X: float64(i), Y: lastRec.PerClass[c]})
		ticks[i].Value = float64(i)
		if i%step == 0 {
			ticks[i].Label = names[c]
		}
	}

	acc := newPlot(fmt.Sprintf("%s: top-1 per class, best epoch %d", filepath.Base(filepath.Clean(run.Dir)), bestRec.Epoch), "class (most training images first)", "top-1 %")
	acc.Add(best)
	for s, present := range groups {
		if present {
			acc.Legend.Add(fmt.Sprintf("%s (best epoch)", glmc.Shot(s)), fillThumb{shotColors[s]})
		}
	}
	if lastRec.Epoch != bestRec.Epoch {
		dots, err := plotter.NewScatter(last)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		acc.Add(dots)
		acc.Legend.Add(fmt.Sprintf("last epoch %d", lastRec.Epoch), dots)
	}
	acc.Legend.Top, acc.Legend.XOffs = true, -vg.Millimeter*2 // clear of the frame
	acc.Y.Min, acc.Y.Max = 0, 100
	acc.X.Tick.Marker = plot.ConstantTicks(ticks)
	acc.X.Tick.Label.Rotation = math.Pi / 2
	acc.X.Tick.Label.XAlign, acc.X.Tick.Label.YAlign = draw.XRight, draw.YCenter

	top := newPlot("training images per class", "", "images (log)")
	top.Add(train)
	top.Y.Scale = plot.LogScale{}
	top.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	top.X.Tick.Marker = plot.ConstantTicks(nil)
	return im.draw(w, func(dc draw.Canvas) {
		split := dc.Min.Y + (dc.Max.Y-dc.Min.Y)*0.7
		lower, upper := dc, dc
		lower.Max.Y, upper.Min.Y = split, split+vg.Millimeter*3
		alignX([]*plot.Plot{top, acc}, []*draw.Canvas{&upper, &lower})
		top.Draw(upper)
		acc.Draw(lower)
	})
}

// alignX crops the canvases of plots drawn one above the other so that
// their data areas start and end at the same x.
func alignX(plots []*plot.Plot, cs []*draw.Canvas) {
	var left, right vg.Length
	for i, p := range plots {
		d := p.DataCanvas(*cs[i])
		left, right = max(left, d.Min.X-cs[i].Min.X), max(right, cs[i].Max.X-d.Max.X)
	}
	for i, p := range plots {
		d := p.DataCanvas(*cs[i])
		*cs[i] = draw.Crop(*cs[i], left-(d.Min.X-cs[i].Min.X), -(right - (cs[i].Max.X - d.Max.X)), 0, 0)
	}
}

// bars draws values[i] as a bar of colour colors[i] centred on x = i,
// from the bottom of the axis (so it works on a log axis too).
type bars struct {
	values []float64
	colors []color.Color
}

// barWidth is the share of a class's slot its bar fills.
const barWidth = 0.8

// Plot draws the bars.
func (b bars) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	bottom := y(p.Y.Min)
	for i, v := range b.values {
		if p.Y.Scale == (plot.LogScale{}) && v <= 0 {
			continue // a log axis has no 0
		}
		left, right, top := x(float64(i)-barWidth/2), x(float64(i)+barWidth/2), y(v)
		c.FillPolygon(b.colors[i], c.ClipPolygonXY([]vg.Point{{X: left, Y: bottom}, {X: right, Y: bottom}, {X: right, Y: top}, {X: left, Y: top}}))
	}
}

// DataRange spans the bars and, for their bottom, half the smallest
// positive value (the bottom of a log axis) or 0.
func (b bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin = math.Inf(1)
	for _, v := range b.values {
		if v > 0 {
			ymin = min(ymin, v/2)
		}
		ymax = max(ymax, v)
	}
	if math.IsInf(ymin, 1) {
		ymin = 0
	}
	return -0.5, float64(len(b.values)) - 0.5, ymin, ymax
}

// fillThumb is a legend entry drawn as a filled box.
type fillThumb struct{ color color.Color }

// Thumbnail fills c.
func (t fillThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(t.color, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}
