package resource

// <request> (TS-0001 9.6.12, TS-0004 7.4.12, Table 7.4.12.1-2/-3): the
// context and the result of a non-blocking request. Only the CSE creates it
// (TS-0004 7.3.2.2; a CREATE through the API is 4005, 7.4.12.2.1) and fills
// in everything but acpi/daci, the only attributes an UPDATE may carry. It
// has no acpi at first: the default rule of a resource without acpi (its
// creator, the originator of the non-blocking request, has every right; the
// CSE acts internally) stands in for the per-request <accessControlPolicy>
// of Table 7.3.2.2-1 (cse/nonblocking.go).
func init() {
	Register(&Type{
		Ty: TyRequest, SN: "req",
		Attrs: attrs(universal(), withACPI(), []*Attr{
			ro("et", KTime), ro("lbl", KStrList),
			ro("op", KInt), ro("tg", KString), ro("org", KString), ro("rid", KString),
			ro("mi", KObject), ro("pc", KAny), ro("rs", KInt), ro("ors", KObject),
		}),
		Children: []int{TySubscription},
		HasACPI:  true,
		HasET:    true,
		// Creatable false: refused whoever asks.
		Updatable: true, Deletable: true,
	})
}

// Request status values (m2m:requestStatus; protocol.md 1.8).
const (
	RequestCompleted          = 1
	RequestFailed             = 2
	RequestPending            = 3
	RequestForwarded          = 4
	RequestPartiallyCompleted = 5
)
