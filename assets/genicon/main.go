// Command genicon draws Courier's application icon: a white envelope with
// motion lines on a blue rounded square, written as a 256x256 PNG.
package main

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const (
	size  = 256
	scale = 4 // supersampling factor, for smooth edges
)

var (
	blueTop    = color.NRGBA{0x3b, 0x82, 0xf6, 0xff}
	blueBottom = color.NRGBA{0x1d, 0x4e, 0xd8, 0xff}
	white      = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	flap       = color.NRGBA{0xdb, 0xe7, 0xfe, 0xff}
	orange     = color.NRGBA{0xf9, 0x73, 0x16, 0xff}
)

func main() {
	out := flag.String("o", "icon.png", "output file")
	flag.Parse()
	img := downsample(draw(size * scale))
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// draw paints the icon at n x n pixels, one pixel test at a time.
func draw(n int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	u := float64(n) / 256 // one icon unit in pixels
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			px, py := (float64(x)+0.5)/u, (float64(y)+0.5)/u
			if c, ok := pixel(px, py); ok {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

// pixel returns the colour at (x, y) in icon units (0..256).
func pixel(x, y float64) (color.NRGBA, bool) {
	if !inRoundRect(x, y, 8, 8, 248, 248, 52) {
		return color.NRGBA{}, false
	}
	c := mix(blueTop, blueBottom, y/256)
	// motion lines, left of the envelope
	for i, ly := range []float64{104, 128, 152} {
		x0 := 30.0 + float64(i%2)*14
		if inRoundRect(x, y, x0, ly-5, 78, ly+5, 5) {
			c = white
		}
	}
	// envelope body
	if inRoundRect(x, y, 88, 80, 222, 176, 12) {
		c = white
		// the flap: a V from the top corners to the centre
		if dist(x, y, 96, 88, 155, 132) < 6 || dist(x, y, 214, 88, 155, 132) < 6 {
			c = flap
		}
	}
	// an orange dot: something sent
	if math.Hypot(x-206, y-82) < 22 {
		c = orange
	}
	return c, true
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return math.Hypot(x-cx, y-cy) <= r
}

// dist is the distance from (x, y) to the segment (ax, ay)-(bx, by).
func dist(x, y, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(x-(ax+t*dx), y-(ay+t*dy))
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(p, q uint8) uint8 { return uint8(float64(p)*(1-t) + float64(q)*t) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 0xff}
}

// downsample averages scale x scale blocks (premultiplied) into one pixel.
func downsample(src *image.NRGBA) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for j := 0; j < scale; j++ {
				for i := 0; i < scale; i++ {
					c := src.NRGBAAt(x*scale+i, y*scale+j)
					al := float64(c.A) / 255
					r += float64(c.R) * al
					g += float64(c.G) * al
					b += float64(c.B) * al
					a += al
				}
			}
			if a == 0 {
				continue
			}
			dst.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(a / (scale * scale) * 255)})
		}
	}
	return dst
}
