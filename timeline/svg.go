package timeline

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"strings"
)

// WriteSVG writes the scene as an SVG image (on a white background unless
// bg is transparent).
func WriteSVG(w io.Writer, sc *Scene, bg color.NRGBA) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif">`+"\n",
		sc.W, sc.H, sc.W, sc.H)
	if bg.A > 0 {
		fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="%s"/>`+"\n", svgColor(bg))
	}
	for i := range sc.Rects {
		r := &sc.Rects[i]
		stroke := ""
		if r.StrokeW > 0 && r.Stroke.A > 0 {
			stroke = fmt.Sprintf(` stroke="%s" stroke-width="%.1f"%s`, svgColor(r.Stroke), r.StrokeW, opacity("stroke-opacity", r.Stroke))
		}
		if r.Round {
			fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"%s%s/>`+"\n",
				r.X+r.W/2, r.Y+r.H/2, r.W/2, svgColor(r.Fill), opacity("fill-opacity", r.Fill), stroke)
		} else {
			fmt.Fprintf(bw, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s%s/>`+"\n",
				r.X, r.Y, r.W, r.H, svgColor(r.Fill), opacity("fill-opacity", r.Fill), stroke)
		}
	}
	for i := range sc.Lines {
		l := &sc.Lines[i]
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n",
			l.X1, l.Y1, l.X2, l.Y2, svgColor(l.Color), l.Width, opacity("stroke-opacity", l.Color))
	}
	for i := range sc.Texts {
		t := &sc.Texts[i]
		weight := ""
		if t.Bold {
			weight = ` font-weight="bold"`
		}
		// SVG places text by its baseline; ours is the top-left corner.
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" font-size="%.1f" fill="%s"%s%s>%s</text>`+"\n",
			t.X, t.Y+t.Size, t.Size, svgColor(t.Color), opacity("fill-opacity", t.Color), weight, xmlEscape(t.S))
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

func svgColor(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func opacity(attr string, c color.NRGBA) string {
	if c.A == 0xff {
		return ""
	}
	return fmt.Sprintf(` %s="%.2f"`, attr, float64(c.A)/255)
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
