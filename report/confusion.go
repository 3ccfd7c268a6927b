package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxCellText is the most classes whose confusion cells are labelled with
// their percentage; past it the text would not fit and only the colours
// are drawn.
const maxCellText = 99

// Confusion draws the confusion matrix counts (rows the true class,
// columns the prediction, as glmc.Result.Confusion) normalised per row,
// as a heat map from white (0%) to dark blue (100%), with each cell's
// percentage printed for up to 99 classes. names are the class names.
func Confusion(w io.Writer, im Image, title string, counts [][]int, names []string) error {
	k := len(counts)
	if k == 0 || len(names) != k {
		return fmt.Errorf("report: confusion: %d rows for %d class names", k, len(names))
	}
	cells := make([][]float64, k) // row-normalised, NaN for a class without samples
	for t, row := range counts {
		if len(row) != k {
			return fmt.Errorf("report: confusion: row %d has %d columns, want %d", t, len(row), k)
		}
		sum := 0
		for _, n := range row {
			sum += n
		}
		cells[t] = make([]float64, k)
		for p, n := range row {
			cells[t][p] = math.NaN()
			if sum > 0 {
				cells[t][p] = float64(n) / float64(sum)
			}
		}
	}
	p := newPlot(title+" (row-normalised: white 0% to dark blue 100%)", "predicted class", "true class")
	p.Add(heatMap{cells: cells, text: k <= maxCellText})
	step := (k + maxTickLabels - 1) / maxTickLabels
	var xt, yt []plot.Tick
	for c, name := range names {
		if c%step == 0 {
			xt = append(xt, plot.Tick{Value: float64(c), Label: name})
			yt = append(yt, plot.Tick{Value: float64(k - 1 - c), Label: name}) // class 0 on top
		}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Padding, p.Y.Padding = 0, 0
	return im.draw(w, func(dc draw.Canvas) { p.Draw(dc) })
}

// heatMap draws cells[t][p] as the square at column p, row k-1-t (so that
// the first class is on top), and its percentage when text is set.
type heatMap struct {
	cells [][]float64 // (k, k) shares in [0, 1], NaN for none
	text  bool
}

// Plot draws the cells.
func (h heatMap) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	k := len(h.cells)
	sty := draw.TextStyle{Font: font.From(p.X.Tick.Label.Font, cellFont(x(1)-x(0))),
		XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
	for t, row := range h.cells {
		yc := float64(k - 1 - t)
		for q, v := range row {
			left, right, bottom, top := x(float64(q)-0.5), x(float64(q)+0.5), y(yc-0.5), y(yc+0.5)
			c.FillPolygon(shade(v), []vg.Point{{X: left, Y: bottom}, {X: right, Y: bottom}, {X: right, Y: top}, {X: left, Y: top}})
			if h.text && !math.IsNaN(v) {
				sty.Color = color.Black
				if v > 0.5 {
					sty.Color = color.White
				}
				c.FillText(sty, vg.Point{X: (left + right) / 2, Y: (bottom + top) / 2}, strconv.Itoa(int(math.Round(100*v))))
			}
		}
	}
}

// cellFont is the font size of a cell's text: a third of the cell, at
// most 12 points.
func cellFont(cell vg.Length) vg.Length { return min(cell/3, vg.Points(12)) }

// DataRange spans the k×k cells.
func (h heatMap) DataRange() (xmin, xmax, ymin, ymax float64) {
	k := float64(len(h.cells))
	return -0.5, k - 0.5, -0.5, k - 0.5
}

// shade is the colour of share v: white at 0, dark blue at 1, light grey
// for NaN (a class without test samples).
func shade(v float64) color.Color {
	if math.IsNaN(v) {
		return color.Gray{Y: 0xe0}
	}
	lerp := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + v*(float64(b)-float64(a)))) }
	return color.RGBA{R: lerp(0xff, 0x08), G: lerp(0xff, 0x30), B: lerp(0xff, 0x6b), A: 0xff}
}
