package codec

import (
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// StoredDecMode decodes CBOR that onecse wrote itself (stored resources,
// outbox entries). It has none of the limits Decode puts on documents from
// clients: what the codec accepted at its deepest nesting, or a string that is
// not valid UTF-8 (from a header, say), must read back exactly, or one stored
// item becomes unreadable.
var StoredDecMode cbor.DecMode

func init() {
	var err error
	StoredDecMode, err = cbor.DecOptions{
		MaxNestedLevels:  65535,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		IntDec:           cbor.IntDecConvertNone,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		UTF8:             cbor.UTF8DecodeInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}
