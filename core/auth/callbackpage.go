package auth

import (
	"html/template"
)

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>lakelink</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto"><p id="result">{{.}}</p></body></html>
`))
