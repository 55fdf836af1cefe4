// Package envfix fixes an unusable locale in the environment before Fyne
// reads it. Importing it (for its init) is enough:
//
//	import _ "totalorder/internal/envfix"
//
// Fyne reads the locale in an init of its own, before main runs:
// fyne.io/fyne/v2/lang's init loads its translations (AddTranslationsFS),
// which calls updateLocalizer, which asks github.com/jeandeaual/go-locale
// and logs "Error parsing user locale C" for C, C.UTF-8 or POSIX. So
// setting the environment in main is too late, and this init must run
// before lang's.
//
// Why it does: Go (1.21 and later) initialises packages one at a time,
// each time the first, in import-path order, of those whose imports are
// all initialised. This package imports only syscall, and syscall and
// everything it imports sort before "totalorder/internal/envfix", which
// sorts before "unicode/utf8". Fyne's lang needs unicode/utf8 (strings
// does), so unicode/utf8 is initialised before lang; and whenever
// unicode/utf8 could be chosen, this package (ready, sorting before it)
// would be chosen first. Hence this package's init runs before lang's.
// That argument breaks if an import is added here (strings, os, … all
// need unicode/utf8): TestInitOrder checks the imports and TestNoFyneLocaleError
// checks the result.
package envfix

import "syscall"

func init() { Locale() }

// Fallback is what Locale puts in place of an unusable locale.
const Fallback = "en_US.UTF-8"

// Locale replaces locale settings that Fyne cannot parse with
// en_US.UTF-8, so that it does not log "Error parsing user locale C" (the
// usual case being LANG=C.UTF-8 in containers and minimal installs). It
// only changes this process's environment (and its children's).
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
		if v, _ := syscall.Getenv(name); v != "" && !usable(v) {
			syscall.Setenv(name, Fallback)
		}
	}
	if v, _ := syscall.Getenv("LANG"); !usable(v) {
		syscall.Setenv("LANG", Fallback)
	}
	if v, ok := syscall.Getenv("LANGUAGE"); ok {
		kept := ""
		for len(v) > 0 {
			entry := v
			if i := index(v, ':'); i >= 0 {
				entry, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			if usable(entry) {
				if kept != "" {
					kept += ":"
				}
				kept += entry
			}
		}
		if kept == "" {
			syscall.Unsetenv("LANGUAGE")
		} else {
			syscall.Setenv("LANGUAGE", kept)
		}
	}
}

// usable reports whether Fyne can parse a POSIX locale name the way
// go-locale hands it over: the name without ".encoding", "_" turned into
// "-". It accepts ll or lll, optionally followed by a region of two
// letters or three digits; so C, POSIX, C.UTF-8, "" and "de_DE@euro"
// (go-locale keeps the "@euro") are not usable. It checks the form, not
// the registry of languages that Fyne's parser also consults: that parser
// needs packages this one must not import (see the package comment).
func usable(name string) bool {
	if i := index(name, '.'); i >= 0 {
		name = name[:i]
	}
	lang, region := name, ""
	for i := 0; i < len(name); i++ {
		if name[i] == '_' || name[i] == '-' {
			lang, region = name[:i], name[i+1:]
			break
		}
	}
	if len(lang) < 2 || len(lang) > 3 || !all(lang, isLetter) {
		return false
	}
	switch {
	case region == "" && len(lang) == len(name):
		return true
	case len(region) == 2:
		return all(region, isLetter)
	case len(region) == 3:
		return all(region, isDigit)
	}
	return false
}

func index(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func all(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
