package report

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Formats are the image formats the plots are written in.
var Formats = []string{"png", "svg"}

// Image is the format and the size in pixels of a plot. SVG sizes are
// written in points at 96 pixels per inch, as browsers show them.
type Image struct {
	Format        string // "png" or "svg"
	Width, Height int    // pixels
}

// DefaultImage is the size the plots are drawn at unless told otherwise.
var DefaultImage = Image{Format: "png", Width: 1200, Height: 900}

// pixelsPerInch is the resolution of PNG images and of SVG sizes.
const pixelsPerInch = 96

// Check reports a format or size that Image cannot be drawn at.
func (im Image) Check() error {
	if im.Format != "png" && im.Format != "svg" {
		return fmt.Errorf("report: format %q: want png or svg", im.Format)
	}
	if im.Width < 100 || im.Height < 100 || im.Width > 20000 || im.Height > 20000 {
		return fmt.Errorf("report: size %dx%d: want 100 to 20000 pixels a side", im.Width, im.Height)
	}
	return nil
}

// draw makes a canvas of the image's size, lets paint draw on it and
// writes the image to w.
func (im Image) draw(w io.Writer, paint func(draw.Canvas)) error {
	if err := im.Check(); err != nil {
		return err
	}
	width := vg.Length(im.Width) * vg.Inch / pixelsPerInch
	height := vg.Length(im.Height) * vg.Inch / pixelsPerInch
	var c vg.CanvasWriterTo
	if im.Format == "svg" {
		c = vgsvg.New(width, height)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pixelsPerInch))}
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	paint(dc)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("report: writing the %s image: %w", im.Format, err)
	}
	return nil
}

// Colours of the many-, medium- and few-shot groups, indexed by glmc.Shot.
var shotColors = [3]color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
}

// runColor is the colour of the i-th run of an overlay: a qualitative
// palette (Tableau's, without the shot colours' blue, orange and red so
// that a run never looks like a group) that repeats after eight runs.
func runColor(i int) color.RGBA {
	palette := []color.RGBA{
		{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, {R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
		{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, {R: 0xbc, G: 0xbd, B: 0x22, A: 0xff},
		{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, {R: 0x00, G: 0x00, B: 0x00, A: 0xff},
	}
	return palette[i%len(palette)]
}

// newPlot returns a plot with the title and axis labels given.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	return p
}
