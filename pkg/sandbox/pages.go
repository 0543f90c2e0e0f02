package sandbox

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
)

// FaviconPath is the icon browsers ask every local page's host for.
const FaviconPath = "/favicon.ico"

// head is what every sandbox page's <head> starts with: readable on a
// phone (viewport), the favicon, one small style sheet.
const head = `<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico">
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:16px;line-height:1.45;color:#111;max-width:62em;margin:0 auto;padding:1em}
.banner{background:#b00;color:#fff;padding:.5em 1em;font-weight:bold;border-radius:4px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}h3{font-size:1em;margin:0 0 .4em}
button{font-size:1em;padding:.6em 1.2em;margin:.2em .4em .2em 0;min-width:7em;cursor:pointer}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.6em;border-radius:4px;margin:.3em 0}
dl{margin:.3em 0}dt{font-weight:bold}dd{margin:0 0 .4em;overflow-wrap:anywhere}
.scroll{overflow-x:auto}table{border-collapse:collapse}
td,th{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #ddd;overflow-wrap:anywhere}
.hook{border:1px solid #ccc;border-radius:4px;padding:.6em .8em;margin:.8em 0}
.bad{color:#b00;font-weight:bold}.ok{color:#060;font-weight:bold}.note{color:#555}
summary{cursor:pointer;margin:.3em 0}
</style>`

// favicon is a 32×32 icon: a white S on the SANDBOX banner's red, as an
// ICO file holding one PNG image (every current browser reads those),
// drawn on first use: Lambda functions link this package but never serve
// it, and encoding it cost a cold start about 1-2 ms (issue 28).
var favicon = sync.OnceValue(func() []byte {
	const size, scale = 32, 4
	glyph := []string{ // 5×7, each cell scale×scale pixels
		".###.",
		"#...#",
		"#....",
		".###.",
		"....#",
		"#...#",
		".###.",
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	red, white := color.NRGBA{0xbb, 0, 0, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	x0, y0 := (size-5*scale)/2, (size-7*scale)/2
	for y := range size {
		for x := range size {
			c := red
			gx, gy := (x-x0)/scale, (y-y0)/scale
			if x >= x0 && y >= y0 && gy < len(glyph) && gx < len(glyph[gy]) && glyph[gy][gx] == '#' {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		panic(err)
	}
	var ico bytes.Buffer
	// ICONDIR (reserved, type 1 = icon, one image), then its ICONDIRENTRY:
	// width, height, palette size, reserved, planes, bits per pixel, size
	// of the image data, offset of the image data (6 + 16).
	binary.Write(&ico, binary.LittleEndian, struct {
		Reserved, Type, Count uint16
		W, H, Colors, Res     uint8
		Planes, BPP           uint16
		Size, Offset          uint32
	}{0, 1, 1, size, size, 0, 0, 1, 32, uint32(pngData.Len()), 22})
	ico.Write(pngData.Bytes())
	return ico.Bytes()
})

// Favicon answers GET FaviconPath.
func Favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Content-Length", strconv.Itoa(len(favicon())))
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(favicon())
}
