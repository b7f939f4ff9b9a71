package verifier_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
)

// forge writes an MD5 ticket by the recipe in auth_tkt.md, independently
// of the package, so tests can build tickets Sign refuses to make.
func forge(secret, uid, tokens, data string, ip [4]byte, ts uint32) string {
	m := append(ip[:], byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts))
	m = append(m, secret+uid+"\x00"+tokens+"\x00"+data...)
	d0 := md5.Sum(m)
	d := md5.Sum([]byte(hex.EncodeToString(d0[:]) + secret))
	tk := ""
	if tokens != "" {
		tk = tokens + "!"
	}
	return fmt.Sprintf("%s%08x%s!%s%s", hex.EncodeToString(d[:]), ts, uid, tk, data)
}
