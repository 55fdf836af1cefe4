package timeline

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Painter paints scenes into an image, in Go, anti-aliased. The window
// shows that image as one texture: drawn as thousands of canvas objects,
// a busy diagram kept a software OpenGL renderer (a virtual machine, a
// remote desktop, Xvfb) below 20 redraws a second. The PNG export is the
// same picture. Not safe for concurrent use; the image Paint returns is
// reused by the call after next (two buffers take turns, so the one
// shown is never the one being painted).
type Painter struct {
	regular, bold *opentype.Font
	faces         map[faceKey]font.Face
	labels        map[labelKey]*label
	buf           [2]*image.RGBA
	next          int
}

type faceKey struct {
	px   float32
	bold bool
}

type labelKey struct {
	s    string
	px   float32
	bold bool
}

// label is a text rendered once as a coverage mask. The mask starts a
// pixel left of the text, room for a first glyph that overhangs.
type label struct {
	mask *image.Alpha
}

// NewPainter paints texts with the given TrueType or OpenType fonts (the
// window passes its theme's); nil or unreadable fonts fall back to the Go
// fonts.
func NewPainter(regular, bold []byte) *Painter {
	return &Painter{regular: parseFont(regular, goregular.TTF), bold: parseFont(bold, gobold.TTF)}
}

func parseFont(data, fallback []byte) *opentype.Font {
	if f, err := opentype.Parse(data); err == nil {
		return f
	}
	f, err := opentype.Parse(fallback)
	if err != nil {
		panic("timeline: the Go fonts do not parse: " + err.Error())
	}
	return f
}

// Paint draws sc on bg at scale pixels per unit of the scene.
func (p *Painter) Paint(sc *Scene, scale float32, bg color.NRGBA) *image.RGBA {
	if scale <= 0 {
		scale = 1
	}
	w, h := int(math.Ceil(float64(sc.W*scale))), int(math.Ceil(float64(sc.H*scale)))
	img := p.buf[p.next]
	if img == nil || img.Rect.Dx() != w || img.Rect.Dy() != h {
		img = image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
		p.buf[p.next] = img
	}
	p.next = 1 - p.next
	fill(img, bg)
	for i := range sc.Rects {
		r := &sc.Rects[i]
		x, y, rw, rh := r.X*scale, r.Y*scale, r.W*scale, r.H*scale
		if r.Round {
			paintDot(img, x+rw/2, y+rh/2, rw/2, r.StrokeW*scale, r.Fill, r.Stroke)
			continue
		}
		paintRect(img, x, y, rw, rh, r.Fill)
		if sw := r.StrokeW * scale; sw > 0 && r.Stroke.A > 0 {
			paintRect(img, x, y, rw, sw, r.Stroke)
			paintRect(img, x, y+rh-sw, rw, sw, r.Stroke)
			paintRect(img, x, y+sw, sw, rh-2*sw, r.Stroke)
			paintRect(img, x+rw-sw, y+sw, sw, rh-2*sw, r.Stroke)
		}
	}
	for i := range sc.Lines {
		l := &sc.Lines[i]
		paintLine(img, l.X1*scale, l.Y1*scale, l.X2*scale, l.Y2*scale, max(l.Width*scale, 0.5), l.Color)
	}
	for i := range sc.Texts {
		t := &sc.Texts[i]
		lb := p.label(t.S, t.Size*scale, t.Bold)
		at := image.Pt(int(math.Round(float64(t.X*scale)))-1, int(math.Round(float64(t.Y*scale))))
		draw.DrawMask(img, lb.mask.Rect.Add(at), image.NewUniform(t.Color), image.Point{}, lb.mask, lb.mask.Rect.Min, draw.Over)
	}
	return img
}

// label renders s once per size and weight; labels repeat from frame to
// frame (lane names, seqs, ticks).
func (p *Painter) label(s string, px float32, bold bool) *label {
	k := labelKey{s, px, bold}
	if lb, ok := p.labels[k]; ok {
		return lb
	}
	if p.labels == nil || len(p.labels) > 8192 {
		p.labels = map[labelKey]*label{}
	}
	face := p.face(px, bold)
	m := face.Metrics()
	wid := font.MeasureString(face, s).Ceil()
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	mask := image.NewAlpha(image.Rect(0, 0, wid+2, asc+desc+1))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(1, asc)}
	d.DrawString(s)
	lb := &label{mask: mask}
	p.labels[k] = lb
	return lb
}

// TextWidth is how wide s is painted at px pixels, rounded up to whole
// pixels: for laying a scene out before it is painted (the charts).
func (p *Painter) TextWidth(s string, px float32, bold bool) float32 {
	return float32(font.MeasureString(p.face(px, bold), s).Ceil())
}

// Ascent is how far a text of px pixels reaches above its baseline.
func (p *Painter) Ascent(px float32, bold bool) float32 {
	return float32(p.face(px, bold).Metrics().Ascent.Ceil())
}

func (p *Painter) face(px float32, bold bool) font.Face {
	k := faceKey{px, bold}
	if f, ok := p.faces[k]; ok {
		return f
	}
	if p.faces == nil {
		p.faces = map[faceKey]font.Face{}
	}
	f := p.regular
	if bold {
		f = p.bold
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("timeline: a parsed font gives no face: " + err.Error())
	}
	p.faces[k] = face
	return face
}

// fill sets every pixel to c.
func fill(img *image.RGBA, c color.NRGBA) {
	r, g, b, a := premul(c)
	row := img.Pix[:img.Rect.Dx()*4]
	for i := 0; i < len(row); i += 4 {
		row[i], row[i+1], row[i+2], row[i+3] = r, g, b, a
	}
	for y := 1; y < img.Rect.Dy(); y++ {
		copy(img.Pix[y*img.Stride:], row)
	}
}

func premul(c color.NRGBA) (r, g, b, a uint8) {
	a16 := uint16(c.A)
	return uint8(uint16(c.R) * a16 / 255), uint8(uint16(c.G) * a16 / 255), uint8(uint16(c.B) * a16 / 255), c.A
}

// blend paints c over the pixel (x, y) with coverage cov in [0, 1].
func blend(img *image.RGBA, x, y int, c color.NRGBA, cov float32) {
	if cov <= 0 || x < 0 || y < 0 || x >= img.Rect.Max.X || y >= img.Rect.Max.Y {
		return
	}
	a := uint32(float32(c.A)*min(cov, 1) + 0.5)
	if a == 0 {
		return
	}
	keep := 255 - a
	i := y*img.Stride + x*4
	px := img.Pix[i : i+4 : i+4]
	px[0] = uint8((uint32(c.R)*a + uint32(px[0])*keep + 127) / 255)
	px[1] = uint8((uint32(c.G)*a + uint32(px[1])*keep + 127) / 255)
	px[2] = uint8((uint32(c.B)*a + uint32(px[2])*keep + 127) / 255)
	px[3] = uint8((255*a + uint32(px[3])*keep + 127) / 255)
}

// paintRect fills the rectangle, with partial coverage at its edges.
func paintRect(img *image.RGBA, x, y, w, h float32, c color.NRGBA) {
	if w <= 0 || h <= 0 || c.A == 0 {
		return
	}
	x0, y0 := max(int(math.Floor(float64(x))), 0), max(int(math.Floor(float64(y))), 0)
	x1, y1 := min(int(math.Ceil(float64(x+w))), img.Rect.Max.X), min(int(math.Ceil(float64(y+h))), img.Rect.Max.Y)
	if x0 >= x1 {
		return
	}
	left, right := overlap(float32(x0), x, x+w), overlap(float32(x1-1), x, x+w)
	for py := y0; py < y1; py++ {
		cy := overlap(float32(py), y, y+h)
		blend(img, x0, py, c, cy*left)
		if x1-1 > x0 {
			blend(img, x1-1, py, c, cy*right)
		}
		if x1-x0 <= 2 {
			continue
		}
		// The inside of the row: one coverage, no per-pixel checks.
		a := uint32(float32(c.A)*min(cy, 1) + 0.5)
		if a == 0 {
			continue
		}
		keep := 255 - a
		r, g, b := uint32(c.R)*a+127, uint32(c.G)*a+127, uint32(c.B)*a+127
		row := img.Pix[py*img.Stride+(x0+1)*4 : py*img.Stride+(x1-1)*4]
		for i := 0; i+3 < len(row); i += 4 {
			px := row[i : i+4 : i+4]
			px[0] = uint8((r + uint32(px[0])*keep) / 255)
			px[1] = uint8((g + uint32(px[1])*keep) / 255)
			px[2] = uint8((b + uint32(px[2])*keep) / 255)
			px[3] = uint8((255*a + 127 + uint32(px[3])*keep) / 255)
		}
	}
}

// overlap is how much of the pixel [p, p+1] lies in [lo, hi].
func overlap(p, lo, hi float32) float32 {
	return max(min(p+1, hi)-max(p, lo), 0)
}

// paintDot paints a disc of radius r centred on (cx, cy), filled with
// fill and ringed by sw pixels of stroke.
func paintDot(img *image.RGBA, cx, cy, r, sw float32, fill, stroke color.NRGBA) {
	x0, y0 := int(math.Floor(float64(cx-r-1))), int(math.Floor(float64(cy-r-1)))
	x1, y1 := int(math.Ceil(float64(cx+r+1))), int(math.Ceil(float64(cy+r+1)))
	for py := y0; py < y1; py++ {
		for px := x0; px < x1; px++ {
			dx, dy := float32(px)+0.5-cx, float32(py)+0.5-cy
			d := float32(math.Sqrt(float64(dx*dx + dy*dy)))
			outer := clamp01(r - d + 0.5)
			if outer == 0 {
				continue
			}
			if sw <= 0 || stroke.A == 0 {
				blend(img, px, py, fill, outer)
				continue
			}
			inner := clamp01(r - sw - d + 0.5)
			blend(img, px, py, fill, inner)
			blend(img, px, py, stroke, outer-inner)
		}
	}
}

func clamp01(v float32) float32 { return max(0, min(v, 1)) }

// paintLine paints a segment of width w with butt ends. It walks the
// longer axis a pixel at a time and paints the few pixels across, each by
// its distance to the segment: the cost is the length times the width,
// not the area of the segment's bounding box.
func paintLine(img *image.RGBA, x1, y1, x2, y2, w float32, c color.NRGBA) {
	if c.A == 0 {
		return
	}
	// A level or upright line of odd width is centred on a pixel row or
	// column: at a pixel's edge it would smear over two, half as dark.
	if y1 == y2 && int(math.Round(float64(w)))%2 == 1 {
		y1 = float32(math.Floor(float64(y1))) + 0.5
		y2 = y1
	}
	if x1 == x2 && int(math.Round(float64(w)))%2 == 1 {
		x1 = float32(math.Floor(float64(x1))) + 0.5
		x2 = x1
	}
	// Level and upright lines (lanes, control messages, Ready marks) are
	// rectangles.
	if y1 == y2 {
		paintRect(img, min(x1, x2), y1-w/2, abs32(x2-x1), w, c)
		return
	}
	if x1 == x2 {
		paintRect(img, x1-w/2, min(y1, y2), w, abs32(y2-y1), c)
		return
	}
	dx, dy := x2-x1, y2-y1
	length := float32(math.Sqrt(float64(dx*dx + dy*dy)))
	steep := abs32(dy) > abs32(dx)
	if steep { // walk y: swap the axes, and swap them back when painting
		x1, y1, x2, y2, dx, dy = y1, x1, y2, x2, dy, dx
	}
	if x1 > x2 {
		x1, y1, x2, y2, dx, dy = x2, y2, x1, y1, -dx, -dy
	}
	slope := dy / dx
	cosine := abs32(dx) / length // across the walk, distance shrinks by this
	half := w / 2
	if w < 1 {
		half = 0.5 // a hairline: a pixel wide, fainter
	}
	// Beyond reach (across the walk) from the centre a pixel is uncovered.
	reach := (half + 0.5) / cosine
	fade := min(w, 1)
	ulim, vlim := img.Rect.Max.X, img.Rect.Max.Y
	if steep {
		ulim, vlim = vlim, ulim
	}
	ca := float32(c.A)
	cr, cg, cb := uint32(c.R), uint32(c.G), uint32(c.B)
	pix, stride := img.Pix, img.Stride
	u0, u1 := max(int(math.Floor(float64(x1))), 0), min(int(math.Ceil(float64(x2))), ulim)
	for u := u0; u < u1; u++ {
		along := overlap(float32(u), x1, x2) * fade
		if along <= 0 {
			continue
		}
		mid := y1 + (float32(u)+0.5-x1)*slope
		v0 := max(int(math.Ceil(float64(mid-reach-0.5))), 0)
		v1 := min(int(math.Floor(float64(mid+reach-0.5))), vlim-1)
		for v := v0; v <= v1; v++ {
			// Inlined blend: this loop is most of a busy frame's work.
			cov := half - abs32(float32(v)+0.5-mid)*cosine + 0.5
			if cov <= 0 {
				continue
			}
			a := uint32(ca*min(cov, 1)*along + 0.5)
			if a == 0 {
				continue
			}
			i := v*stride + u*4
			if steep {
				i = u*stride + v*4
			}
			px := pix[i : i+4 : i+4]
			keep := 255 - a
			px[0] = uint8((cr*a + uint32(px[0])*keep + 127) / 255)
			px[1] = uint8((cg*a + uint32(px[1])*keep + 127) / 255)
			px[2] = uint8((cb*a + uint32(px[2])*keep + 127) / 255)
			px[3] = uint8((255*a + uint32(px[3])*keep + 127) / 255)
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
