// Command timeline draws a lab run as a space-time diagram: one lane per
// middleware and one for the network program, an arrow per copy, the
// hold-back and the Ready marks. It opens the Timeline window over the
// logs of a past run, or exports the diagram without a window:
//
//	timeline [flags] [logs folder or files]     (default: logs)
//	timeline -png out.png -svg out.svg          the last 200 messages
//	timeline -shiviz run.log                    a log for ShiViz
//	timeline -live                              follow a running lab
//
// The logs are the middlewares' events logs (middleware-I.jsonl) and the
// network program's (netsim.jsonl).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"totalorder/gui"
	"totalorder/internal/cliflags"
	"totalorder/internal/launcher"
	"totalorder/internal/version"
	"totalorder/timeline"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	png, svg, shiviz string
	width, height    int
	scale            float64
	control, live    bool
	highlight        string
	whole            bool
	sources          []string
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	version.Flag(fs, "timeline")
	fs.SetOutput(stderr)
	fs.StringVar(&o.png, "png", "", "write the diagram as a PNG image to `file` (no window)")
	fs.StringVar(&o.svg, "svg", "", "write the diagram as an SVG image to `file` (no window)")
	fs.StringVar(&o.shiviz, "shiviz", "", "write a ShiViz log (hosts and vector clocks) of the whole run to `file` (no window)")
	fs.IntVar(&o.width, "width", 1400, "image width in pixels (-png, -svg)")
	fs.IntVar(&o.height, "height", 560, "image height in pixels (-png, -svg)")
	fs.Float64Var(&o.scale, "scale", 2, "PNG pixels per point: 2 for a sharp image in a report")
	fs.BoolVar(&o.control, "control", false, "draw the control traffic layer (if the logs have it: middleware -events-control)")
	fs.StringVar(&o.highlight, "highlight", "", "highlight this message in the images, e.g. \"Msg #1 from Middleware 2\"")
	fs.BoolVar(&o.whole, "all", false, "images show the whole run instead of its last 200 messages")
	fs.BoolVar(&o.live, "live", false, "window: follow the logs of a running lab")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: timeline [flags] [logs folder or files]   (default: logs)")
		fs.PrintDefaults()
	}
	// Flags may follow the logs too: `timeline logs -png out.png`.
	sources, err := cliflags.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o.sources = sources
	src, err := source(o.sources)
	if err != nil {
		fmt.Fprintln(stderr, "timeline:", err)
		return 2
	}
	if o.png == "" && o.svg == "" && o.shiviz == "" {
		if err := runWindow(src, o.live); err != nil {
			fmt.Fprintln(stderr, "timeline:", err)
			return 1
		}
		return 0
	}
	if err := export(src, o, stdout); err != nil {
		fmt.Fprintln(stderr, "timeline:", err)
		return 1
	}
	return 0
}

// source is the logs named on the command line: one folder (default
// logs), or files.
func source(args []string) (*timeline.Source, error) {
	if len(args) == 0 {
		args = []string{"logs"}
	}
	if len(args) == 1 {
		if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			return timeline.NewDirSource(args[0]), nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w (run the lab first: %s, or %s)", args[0], errors.Unwrap(err), launcher.Name(), launcher.Command("demo"))
		}
	}
	var files []string
	for _, a := range args {
		matches, err := filepath.Glob(a)
		if err != nil || len(matches) == 0 {
			if _, err := os.Stat(a); err != nil {
				return nil, fmt.Errorf("%s: no such file", a)
			}
			matches = []string{a}
		}
		files = append(files, matches...)
	}
	return timeline.NewFileSource(files), nil
}

func export(src *timeline.Source, o options, stdout io.Writer) error {
	m, err := timeline.Load(src)
	if err != nil {
		return err
	}
	if m.Len() == 0 {
		return fmt.Errorf("no messages in the logs in %s (run the lab first: %s, or %s)", src.Dir(), launcher.Name(), launcher.Command("demo"))
	}
	if o.shiviz != "" {
		if err := writeFile(o.shiviz, func(w io.Writer) error { return timeline.WriteShiViz(w, m) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: open it at https://bestchai.bitbucket.io/shiviz/ (the first line is the parser regex)\n", o.shiviz)
	}
	if o.png == "" && o.svg == "" {
		return nil
	}
	from, to := timeline.LastWindow(m)
	if o.whole {
		from, to = timeline.Extent(m)
	}
	var lay timeline.Layouter
	sc := lay.Layout(m, timeline.View{From: from, To: to, W: float32(o.width), H: float32(o.height),
		Highlight: o.highlight, ShowControl: o.control, MaxMessages: maxMessages(o.whole, m), Legend: true})
	if o.svg != "" {
		if err := writeFile(o.svg, func(w io.Writer) error { return timeline.WriteSVG(w, sc, color.NRGBA{0xff, 0xff, 0xff, 0xff}) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%d of %d messages)\n", o.svg, sc.Shown, m.Len())
	}
	if o.png != "" {
		img := gui.RenderTimeline(sc, float32(o.scale))
		if err := writeFile(o.png, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%d of %d messages)\n", o.png, sc.Shown, m.Len())
	}
	return nil
}

func maxMessages(whole bool, m *timeline.Model) int {
	if whole {
		return max(m.Len(), 1)
	}
	return 0
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
