package primitive

import (
	"errors"
	"fmt"
)

// Error is the one error type of onecse: every failure that reaches an originator
// carries the oneM2M status code it must be answered with and a debug text for
// the m2m:dbg content. Bindings render it; nothing compares error strings.
type Error struct {
	RSC RSC
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", int(e.RSC), e.RSC.Name(), e.Msg) }

// Errorf builds an *Error with a formatted debug message.
func Errorf(rsc RSC, format string, args ...any) *Error {
	return &Error{RSC: rsc, Msg: fmt.Sprintf(format, args...)}
}

// ErrorRSC returns the status code carried by err, or 5000 for errors that carry none.
func ErrorRSC(err error) RSC {
	var e *Error
	if errors.As(err, &e) {
		return e.RSC
	}
	return RSCInternalServerError
}

// AsError converts any error into an *Error (5000 when it carries no status).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{RSC: RSCInternalServerError, Msg: err.Error()}
}
