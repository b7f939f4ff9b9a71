// Package pageview holds what a real browser sends with a page view, for
// the benchmarks and the nginx tests that must send the same: the
// headers nginx and Apache parse, and that nginx's auth subrequest would
// copy to tktgate unless told otherwise.
package pageview

// ChromeHeaders are what Chrome 131 on Windows sends with a page view
// over HTTP/1.1, Cookie and Host aside: client hints, fetch metadata, the
// long Accept, Referer, encodings and languages, about 800 bytes that
// tktgate never reads. With a Cookie header of about 400 bytes a request
// is about 1.2 KB, a real page view's size.
var ChromeHeaders = []string{
	`sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`,
	"sec-ch-ua-mobile: ?0",
	`sec-ch-ua-platform: "Windows"`,
	"Upgrade-Insecure-Requests: 1",
	"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
	"Sec-Fetch-Site: same-origin",
	"Sec-Fetch-Mode: navigate",
	"Sec-Fetch-User: ?1",
	"Sec-Fetch-Dest: document",
	"Referer: https://intranet.example.com/reports/2026/quarterly?region=emea&view=summary",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Accept-Language: en-GB,en-US;q=0.9,en;q=0.8,de;q=0.7",
}
