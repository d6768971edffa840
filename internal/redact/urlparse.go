package redact

import (
	"errors"
	"net/url"
	"strings"
)

// URLParseError returns the cause of url.Parse's error without the parts of the
// URL it quotes: url.Error quotes the whole input, an EscapeError the bad
// escape, and an invalid port what follows the last ':' before the host's
// end, which is the start of the password when the password holds a '#',
// '/' or '?' that ends the user info early.
func URLParseError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ee url.EscapeError
	switch {
	case errors.As(err, &ee):
		return errors.New("invalid %-escape (write a literal % as %25)")
	case strings.HasPrefix(err.Error(), "invalid port "):
		return errors.New(`invalid port, not a number (in a password, write '#' as %23, '/' as %2F, '?' as %3F and '@' as %40)`)
	}
	return err
}
