package main

// The known keys: spelling, unknown keys and "did you mean" hints.

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// schema lists the known keys of each table; "policy.*" is any policy.
// The per-location keys come from locKeys, after a table's own keys.
var schema = map[string][]string{
	"":           tomlTags(reflect.TypeFor[rawFile]()),
	"ticket":     tableKeys[rawTicket]("ticket"),
	"client_ip":  tomlTags(reflect.TypeFor[rawClientIP]()),
	"redirect":   tableKeys[struct{}]("redirect"),
	"guest":      tableKeys[struct{}]("guest"),
	"limits":     tomlTags(reflect.TypeFor[rawLimits]()),
	"cache":      tomlTags(reflect.TypeFor[rawCache]()),
	"revocation": tomlTags(reflect.TypeFor[rawRevocation]()),
	"policy.*":   tableKeys[rawPolicy]("policy"),
}

// tableKeys lists the keys of T and the per-location keys of table.
func tableKeys[T any](table string) []string {
	return append(tomlTags(reflect.TypeFor[T]()), tomlTags(locStructs[table].typ)...)
}

func tomlTags(t reflect.Type) []string {
	var tags []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			tags = append(tags, tomlTags(f.Type)...)
		} else if tag := f.Tag.Get("toml"); tag != "" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// schemaTable returns the schema entry for the table holding key k[n].
func schemaTable(k toml.Key, n int) (string, bool) {
	switch {
	case n == 0:
		return "", true
	case n == 1 && k[0] == "policy":
		return "", false // policy names are free
	case n == 1:
		_, ok := schema[k[0]]
		return k[0], ok
	case n == 2 && k[0] == "policy":
		return "policy.*", true
	}
	return "", false
}

// checkKeyCase reports keys spelled with another case than documented:
// the decoder matches struct fields case-insensitively, so it would accept
// them silently.
func (c *compiler) checkKeyCase() {
	for _, k := range c.md.Keys() {
		for n := range k {
			table, ok := schemaTable(k, n)
			if !ok && n == 1 && k[0] == "policy" {
				continue // policy names are free
			}
			if !ok {
				break
			}
			known := schema[table]
			if slices.Contains(known, k[n]) {
				continue
			}
			for _, want := range known {
				if strings.EqualFold(want, k[n]) {
					if bad := k[:n+1]; !c.reported[bad.String()] {
						c.reported[bad.String()] = true
						c.problem(bad, "key must be spelled %q", want)
					}
					break
				}
			}
			break
		}
	}
}

// keysLike returns the keys in the file that match k case-insensitively.
func (c *compiler) keysLike(k toml.Key) []toml.Key {
	var ks []toml.Key
	for _, mk := range c.md.Keys() {
		if len(mk) == len(k) && slices.EqualFunc(mk, k, strings.EqualFold) {
			ks = append(ks, mk)
		}
	}
	return ks
}

// isTable reports whether k, if present, is a table, and blames it if not.
func (c *compiler) isTable(k toml.Key) bool {
	for _, mk := range c.keysLike(k) {
		if t := c.md.Type(mk...); t != "Hash" {
			c.reported[mk.String()] = true
			found := map[string]string{
				"String": "a string", "Integer": "an integer", "Float": "a float",
				"Bool": "a boolean", "Array": "an array", "ArrayHash": "an array of tables",
			}[t]
			if found == "" {
				found = "a date/time"
			}
			c.problem(mk, "must be a table ([%s]), not %s", k, found)
			return false
		}
	}
	return true
}

// decode decodes p into dst, blaming k if it cannot.
func (c *compiler) decode(k toml.Key, p toml.Primitive, dst any) bool {
	if err := c.md.PrimitiveDecode(p, dst); err != nil {
		c.reported[k.String()] = true
		// As in ParseConfig: type names at most. Should the decoder ever
		// report a value it could not read, its message is not shown.
		msg := strings.TrimPrefix(err.Error(), "toml: ")
		if pe := (toml.ParseError{}); errors.As(err, &pe) {
			msg, _ = syntaxWording(pe.Message)
		}
		c.problem(k, "%s", msg)
		return false
	}
	return true
}

// checkUnknownKeys reports keys no field took, once per unknown table.
func (c *compiler) checkUnknownKeys() {
	for _, k := range c.md.Undecoded() {
		// Blame the outermost unknown part: an unknown [foo.bar] has no
		// key "foo" of its own in the metadata.
		n := 0
		for ; n < len(k)-1; n++ {
			table, ok := schemaTable(k, n)
			if !ok && n == 1 && k[0] == "policy" {
				continue // a policy name
			}
			if !ok || !slices.Contains(schema[table], k[n]) {
				break
			}
		}
		bad := k[:n+1]
		skip := false
		for i := 1; i <= len(bad); i++ {
			if c.reported[bad[:i].String()] {
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		c.reported[bad.String()] = true
		c.problem(bad, "unknown key%s", hint(bad))
	}
}

// globalOnly are the [ticket] keys a policy cannot set: they have no
// Apache directive to be per <VirtualHost> or <Location> like.
var globalOnly = []string{"max_future"}

// hint suggests what an unknown key k was meant to be.
func hint(k toml.Key) string {
	name := k[len(k)-1]
	table, ok := schemaTable(k, len(k)-1)
	if ok && table == "policy.*" && slices.Contains(globalOnly, name) {
		return " (" + name + " is global only: set it in [ticket])"
	}
	// [guest] login is guest_login in a policy, and the other way round.
	if ok && table == "policy.*" && slices.Contains(schema[table], "guest_"+name) {
		return " (did you mean guest_" + name + "?)"
	}
	if short, cut := strings.CutPrefix(name, "guest_"); ok && cut && table == "guest" && slices.Contains(schema[table], short) {
		return " (did you mean " + short + "?)"
	}
	if ok {
		if best := closest(name, schema[table]); best != "" {
			return fmt.Sprintf(" (did you mean %s?)", best)
		}
	}
	// A key that belongs in another table.
	var homes []string
	for _, t := range slices.Sorted(maps.Keys(schema)) {
		if t != table && t != "policy.*" && slices.Contains(schema[t], name) {
			if t == "" {
				homes = append(homes, "the top level")
			} else {
				homes = append(homes, "["+t+"]")
			}
		}
	}
	if table != "policy.*" && slices.Contains(schema["policy.*"], name) {
		homes = append(homes, "[policy.NAME]")
	}
	if len(homes) > 0 {
		return " (" + name + " belongs in " + strings.Join(homes, " or ") + ")"
	}
	return ""
}

// closest returns the candidate within a small edit distance of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) < 5 {
		bestD = 2
	}
	for _, cand := range candidates {
		if d := editDistance(s, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
