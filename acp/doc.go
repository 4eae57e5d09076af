// Package acp evaluates oneM2M access control policies (<accessControlPolicy>
// privileges "pv" and selfPrivileges "pvs", data type m2m:setOfAcrs).
//
// It is a pure decision library: it performs no I/O, keeps no state and is safe
// for concurrent use. The CSE core decodes a resource (JSON or CBOR) into
// map[string]any, hands the pv/pvs value to [Parse] (once, when the ACP is
// created, updated or loaded) and calls [Rules.Allows] on every request.
//
// # API
//
//	const OpCreate, OpRetrieve, OpUpdate, OpDelete, OpNotify, OpDiscovery, OpAll uint32
//	type Rules []Rule
//	type Rule struct{ Originators []string; Operations uint32; Contexts []Context; AuthRequired bool; ObjectDetails []ObjectDetail }
//	type Context struct{ Windows []Schedule; IPv4, IPv6 []netip.Prefix; CountryCodes []string; Circle *Circle }
//	type ObjectDetail struct{ Ty, Spty *int64; Cnd string; ChildTypes []int64 }
//	type Circle struct{ Lat, Lon, Radius float64 }
//	type LatLon struct{ Lat, Lon float64 }
//	type Request struct{ Originator string; Operation uint32; Time time.Time; Addr netip.Addr;
//	    Authenticated bool; ChildType, TargetType, TargetSpty int64; TargetCnd string;
//	    Location *LatLon; Country string; RoleIDs []string }
//	type Env struct{ CSEID, SPID string; IsGroupMember func(groupID, originator string) bool }
//	type ParseError struct{ Path, Msg string }             // Error() = Path + ": " + Msg
//
//	func Parse(v any) (Rules, error)                       // pv; error paths start with "pv"
//	func ParseAttr(attr string, v any) (Rules, error)      // e.g. attr "pvs"
//	func (r Rules) Allows(env Env, req Request) bool        // permit-overrides within one ACP
//	func AllowsAny(env Env, req Request, sets ...Rules) bool // permit-overrides across ACPs
//	func (r *Rule) Matches(env Env, req Request) bool
//	func (c *Context) Matches(req Request) bool
//	func (c *Circle) Contains(p LatLon) bool
//	func MatchOriginator(env Env, pattern, originator string) bool
//	func ParseSchedule(s string) (Schedule, error)
//	func (s Schedule) Matches(t time.Time) bool
//	func (s Schedule) String() string
//
// Typical use in the core:
//
//	rules, err := acp.ParseAttr("pvs", res["pvs"]) // on CREATE/UPDATE: err → 4000 with err.Error()
//	...
//	req := acp.Request{Originator: fr, Operation: acp.OpRetrieve, Time: now, Addr: peer}
//	if fu == 1 { req.Operation = acp.OpDiscovery }
//	if !acp.AllowsAny(env, req, rulesOfEveryACPInAcpi...) { /* 4103 */ }
//
// # Decision (TS-0003 7.1.5, TS-0004 7.3.3.15)
//
// A request is permitted when at least one rule matches ("permit-overrides").
// A rule matches when all of these hold:
//
//   - acop contains every bit of Request.Operation. DISCOVERY (32) is its own
//     bit: a RETRIEVE with fu=1 must be passed as OpDiscovery, and RETRIEVE (2)
//     does not imply it nor vice versa.
//   - acaf=true ⇒ Request.Authenticated.
//   - acod (object details) is absent, or the operation is not CREATE, or some
//     entry has ChildType in its chty and – when given – ty equal to
//     TargetType and spty equal to the target's specialization.
//   - acco is absent/empty, or some context entry has all of its present
//     members matching: Time inside any actw schedule entry, Addr inside any
//     acip prefix, location inside aclr (country code or circle). Unknown
//     request data (zero Time, invalid Addr, nil Location, empty Country)
//     never satisfies a present condition: the library fails closed.
//   - the originator matches an acor entry (see [MatchOriginator]), or an acor
//     Role-ID is among Request.RoleIDs.
//
// # Originators (TS-0003 7.1.3, Table 7.1.3-2)
//
// Both the acor entry and the originator are first brought to absolute form
// using Env: a CSE-relative AE-ID-Stem "Cxyz" becomes //<SP>/<CSE-ID>/Cxyz, an
// S-stem "Sxyz" becomes //<SP>/Sxyz (S-AE-IDs are SP-wide, TS-0001 7.2), an
// SP-relative ID "/id/x" becomes //<SP>/id/x; the SP-ID part is compared
// case-insensitively (it is a domain name). Then an entry matches when it is
//
//   - the keyword "all" (any non-empty originator);
//   - equal to the originator;
//   - an SP domain "//sp.example.com" (nothing after the domain) and the
//     originator belongs to that SP;
//   - a wildcard pattern: "*" stands for any run of characters inside ONE
//     path segment ("/" ends it), so "/id-mn/C*" matches "/id-mn/CAE1" but not
//     "/id-mn/x/CAE1", and "//*/myCSE" matches myCSE in any SP;
//   - a <group> resource ID for which Env.IsGroupMember reports membership.
//
// An entry without a leading "/" is CSE-relative like a stem, so "C*" (and
// "*") only cover AEs registered at this CSE; use "/*/C*" for every CSE of the
// SP or "//*/*/C*" for any SP.
//
// Wildcards are not applicable to SP domains, group IDs and Role-IDs, so such
// entries containing "*" never match. Role-IDs ("name@issuer.fqdn") match only
// through Request.RoleIDs.
//
// # Schedules (TS-0004 7.4.9.1)
//
// m2m:scheduleEntry has seven space-separated fields: second(0-59)
// minute(0-59) hour(0-23) day-of-month(1-31) month(1-12) day-of-week(0-6,
// 0=Sunday; 7 is accepted as Sunday too) year(2000-9999). Each field is "*",
// "*/n", or a comma list of elements "a", "a-b" or "a-b/n". Times are evaluated
// in UTC and ALL seven fields must match (there is no classic-cron OR between
// day-of-month and day-of-week, because the oneM2M definition never
// introduces one).
//
// # Parsing strictness
//
// Parse rejects anything that is not a well-formed m2m:setOfAcrs, including
// unknown members (such as the Rel-4 attribute-level "aca" or extra context
// kinds): silently ignoring a restriction we do not understand would grant
// more access than the policy author intended. JSON null for an optional
// member counts as absent. acco may be a single object instead of a list (seen
// in TR-0051 examples). Integers may arrive as int64, int, uint64, json.Number
// or integral float64 so that any of the project's decoders can be used.
package acp
