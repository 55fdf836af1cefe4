package main

import (
	"bytes"
	"text/template"
)

// readme is README.txt, the download's short plain-text README.
func (rel *release) readme(t target) ([]byte, error) {
	text := readmeLinux
	if t.goos == "windows" {
		text = readmeWindows
	}
	var b bytes.Buffer
	err := template.Must(template.New("README.txt").Parse(text)).Execute(&b, rel)
	return b.Bytes(), err
}

// Fields: .Version, .Commit (see release).
func (rel *release) Version() string { return rel.version }
func (rel *release) Commit() string  { return rel.commit }

const readmeWindows = `Total-order multicast lab {{.Version}} (commit {{.Commit}}) for Windows (64-bit)

Five middleware programs, one window each, sit on top of a network
program that delays every message at random; the middlewares deliver the
messages in one order that all five agree on (total order).

RUN IT: double-click run.bat (or, in a console in this folder: run.bat).
The Network window and five Middleware windows open; click Send in
them. Closing the Network window, pressing Ctrl-C or closing the console
stops the lab. Neither Go nor a C compiler is needed: the programs are in
bin\.

  run.bat                  the lab (options: run.bat -help)
  run.bat -max-sleep 3s    the network delays each copy up to 3 s
  run.bat -protocol none   no ordering at all: see it go wrong
  run.bat demo             the lab without windows, lists side by side
  run.bat check            prove the last run kept total order
  run.bat timeline         the last run as a space-time diagram
  run.bat compare          one workload under every protocol, one table

What is here:
  run.bat                    the launcher
  bin\*.exe                  the programs (each answers -version)
  bin\headless\*.exe         the network program and middleware without
                             windows, which the demo and compare run
  THIRD_PARTY_LICENSES.txt   the licences of the software in the programs

Windows may ask whether to let the programs use the network: they talk to
each other on this computer only (ports 8081-8086 and 9082-9086);
"Private networks" is enough. Logs go to logs\, each middleware's state
to state\ (both are started afresh with every run.bat).

The source, the tests and the full guide: the lab's repository (README.md,
docs\guide.md there). With the source, run.bat builds the programs
itself (Go 1.26 and gcc needed).
`

const readmeLinux = `Total-order multicast lab {{.Version}} (commit {{.Commit}}) for Linux (x86-64)

Five middleware programs, one window each, sit on top of a network
program that delays every message at random; the middlewares deliver the
messages in one order that all five agree on (total order).

RUN IT: ./run.sh in this folder. The Network window and five Middleware
windows open; click Send in them. Closing the Network window or Ctrl-C
stops the lab. Neither Go nor a C compiler is needed: the programs are in
bin/.

  ./run.sh                  the lab (options: ./run.sh -help)
  ./run.sh -max-sleep 3s    the network delays each copy up to 3 s
  ./run.sh -protocol none   no ordering at all: see it go wrong
  ./run.sh demo             the lab without windows, lists side by side
  ./run.sh check            prove the last run kept total order
  ./run.sh timeline         the last run as a space-time diagram
  ./run.sh compare          one workload under every protocol, one table

The windows need X11 and OpenGL libraries, present on every desktop. On a
bare Debian/Ubuntu system, ./run.sh installs them when run as root (or
with sudo); otherwise it prints the line to run:
  apt-get install libgl1 libx11-6 libxcursor1 libxrandr2 libxinerama1 libxi6 libxxf86vm1
The demo, check and compare need none of them.

What is here:
  run.sh                     the launcher
  bin/                       the programs (each answers -version)
  bin/headless/              the network program and middleware without
                             windows, which the demo and compare run
  THIRD_PARTY_LICENSES.txt   the licences of the software in the programs

Logs go to logs/, each middleware's state to state/ (both are started
afresh with every ./run.sh).

The source, the tests and the full guide: the lab's repository (README.md,
docs/guide.md there). With the source, run.sh builds the programs itself.
`
