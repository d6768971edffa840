package redact

// Error returns err with its message masked by Text, or err itself when
// the message holds nothing to mask. The cause stays reachable for
// errors.Is and errors.As: mask where an error is shown, as well as where
// it is made.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := Text(msg); m != msg {
		return &masked{msg: m, err: err}
	}
	return err
}

type masked struct {
	msg string
	err error
}

func (e *masked) Error() string { return e.msg }
func (e *masked) Unwrap() error { return e.err }
