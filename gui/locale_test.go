package gui

import (
	"bytes"
	"log"
	"os"
	"runtime"
	"strings"
	"testing"

	"totalorder/internal/envfix"

	"fyne.io/fyne/v2/lang"
	locale "github.com/jeandeaual/go-locale"
	"golang.org/x/text/language"
)

// fyneLocaleComplaints runs the locale lookups Fyne does at start-up
// (lang.SystemLocale, and go-locale's list parsed as in lang's
// updateLocalizer) and returns what they logged or failed on.
func fyneLocaleComplaints(t *testing.T) string {
	t.Helper()
	var logged bytes.Buffer
	prev, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&logged)
	defer func() { log.SetOutput(prev); log.SetFlags(prevFlags) }()

	lang.SystemLocale()
	all, err := locale.GetLocales()
	if err != nil {
		logged.WriteString("GetLocales: " + err.Error() + "\n")
	}
	for _, l := range all {
		if _, err := language.Parse(l); err != nil {
			logged.WriteString("parse " + l + ": " + err.Error() + "\n")
		}
	}
	return logged.String()
}

func TestEnvfixLocale(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("Fyne reads the locale from LANG and friends only on Linux and the BSDs")
	}
	const unset = "\x00unset"
	tests := []struct {
		name string
		env  map[string]string // LC_ALL, LC_MESSAGES, LANG, LANGUAGE; missing means unset
		want map[string]string // values after envfix.Locale; missing means unchanged
		// brokenBefore says Fyne complains before the fix; it proves the
		// checker can see the problem envfix.Locale is meant to remove.
		brokenBefore bool
	}{
		{name: "nothing set", want: map[string]string{"LANG": envfix.Fallback}},
		{name: "LANG=C", env: map[string]string{"LANG": "C"}, want: map[string]string{"LANG": envfix.Fallback}},
		{name: "LANG=POSIX", env: map[string]string{"LANG": "POSIX"}, want: map[string]string{"LANG": envfix.Fallback}},
		{name: "LANG=C.UTF-8", env: map[string]string{"LANG": "C.UTF-8"}, want: map[string]string{"LANG": envfix.Fallback}, brokenBefore: true},
		{
			name: "LC_ALL=C.UTF-8 over a good LANG",
			env:  map[string]string{"LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"},
			want: map[string]string{"LC_ALL": envfix.Fallback, "LANG": "de_DE.UTF-8"}, brokenBefore: true,
		},
		{
			name: "LC_MESSAGES=C.utf8",
			env:  map[string]string{"LC_MESSAGES": "C.utf8", "LANG": "C.utf8"},
			want: map[string]string{"LC_MESSAGES": envfix.Fallback, "LANG": envfix.Fallback}, brokenBefore: true,
		},
		{name: "LC_ALL=C", env: map[string]string{"LC_ALL": "C"}, want: map[string]string{"LC_ALL": envfix.Fallback, "LANG": envfix.Fallback}},
		{name: "modifier without encoding", env: map[string]string{"LANG": "de_DE@euro"}, want: map[string]string{"LANG": envfix.Fallback}, brokenBefore: true},
		{name: "good LANG kept", env: map[string]string{"LANG": "fr_FR.UTF-8"}, want: map[string]string{"LANG": "fr_FR.UTF-8"}},
		{name: "language only kept", env: map[string]string{"LANG": "sv"}, want: map[string]string{"LANG": "sv"}},
		{name: "numeric region kept", env: map[string]string{"LANG": "es_419.UTF-8"}, want: map[string]string{"LANG": "es_419.UTF-8"}},
		{
			name: "bad LANGUAGE entries dropped",
			env:  map[string]string{"LANG": "fr_FR.UTF-8", "LANGUAGE": "fr_FR:C.UTF-8:en"},
			want: map[string]string{"LANGUAGE": "fr_FR:en"}, brokenBefore: true,
		},
		{
			name: "LANGUAGE with nothing usable removed",
			env:  map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "C.UTF-8"},
			want: map[string]string{"LANG": envfix.Fallback, "LANGUAGE": unset}, brokenBefore: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
				t.Setenv(name, "") // restores the original value after the test
				if v, ok := tt.env[name]; ok {
					os.Setenv(name, v)
				} else {
					os.Unsetenv(name)
				}
			}
			if got := fyneLocaleComplaints(t); tt.brokenBefore && got == "" {
				t.Fatalf("expected Fyne to complain before envfix.Locale, it did not")
			}

			envfix.Locale()

			for name, want := range tt.want {
				got, ok := os.LookupEnv(name)
				if want == unset {
					if ok {
						t.Errorf("%s = %q, want it unset", name, got)
					}
					continue
				}
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := fyneLocaleComplaints(t); got != "" {
				t.Errorf("Fyne still complains after envfix.Locale:\n%s", strings.TrimSpace(got))
			}
		})
	}
}
