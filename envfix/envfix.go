// Package envfix fixes an unusable locale in the environment before Fyne
// reads it.
//
// fyne.io/fyne/v2/lang reads the locale in its package init, before main
// runs, and logs "Error parsing user locale C" for C, C.UTF-8 or POSIX.
// Go (1.21 and later) initialises packages in import-path order among
// those whose imports are ready, and "envfix" sorts before "fyne.io", so
// this package's init runs first: that is why it is a module of its own
// with this short path. Importing package gui is enough to get it.
package envfix

import (
	"os"
	"strings"

	"golang.org/x/text/language"
)

func init() { Locale() }

// Fallback is what Locale puts in place of an unusable locale.
const Fallback = "en_US.UTF-8"

// Locale replaces locale settings that Fyne cannot parse with
// en_US.UTF-8, so that it does not log "Error parsing user locale C" (the
// usual case being LANG=C.UTF-8 in containers and minimal installs). Call
// it first thing in main, before the Fyne app is created. It only changes
// this process's environment (and its children's).
//
// On Linux and the BSDs Fyne asks github.com/jeandeaual/go-locale, which
// takes the first non-empty of LC_ALL, LC_MESSAGES and LANG, then prefers
// LANGUAGE (a colon-separated list) unless that value is C or POSIX, and
// turns every entry ll_CC.enc into the tag ll-CC for
// golang.org/x/text/language. So: LANG is set when empty or unusable,
// LC_ALL and LC_MESSAGES are replaced when set but unusable, and unusable
// entries are dropped from LANGUAGE. Windows and macOS do not read these
// variables.
func Locale() {
	for _, name := range [...]string{"LC_ALL", "LC_MESSAGES"} {
		if v := os.Getenv(name); v != "" && !usableLocale(v) {
			os.Setenv(name, Fallback)
		}
	}
	if !usableLocale(os.Getenv("LANG")) {
		os.Setenv("LANG", Fallback)
	}
	if v, ok := os.LookupEnv("LANGUAGE"); ok {
		var kept []string
		for _, entry := range strings.Split(v, ":") {
			if usableLocale(entry) {
				kept = append(kept, entry)
			}
		}
		if len(kept) == 0 {
			os.Unsetenv("LANGUAGE")
		} else {
			os.Setenv("LANGUAGE", strings.Join(kept, ":"))
		}
	}
}

// usableLocale reports whether Fyne can use a POSIX locale name: it
// converts the name the way go-locale does (drop ".encoding", "_" to "-")
// and asks the same parser Fyne uses. C, POSIX, C.UTF-8 and "" are not
// usable; neither is "de_DE@euro" (go-locale keeps the "@euro").
func usableLocale(name string) bool {
	if name == "" || name == "C" || name == "POSIX" {
		return false
	}
	base, _, _ := strings.Cut(name, ".")
	lang, region, _ := strings.Cut(strings.ReplaceAll(base, "-", "_"), "_")
	tag := lang
	if region != "" {
		tag += "-" + region
	}
	_, err := language.Parse(tag)
	return err == nil
}
