module envfix

go 1.26

require golang.org/x/text v0.22.0
