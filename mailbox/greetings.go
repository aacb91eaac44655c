package mailbox

// AttendantBox is where an auto attendant's uploaded menu greeting is kept:
// a box of its own, holding a greeting and never messages.
func AttendantBox(tenant, attendant string) Box {
	return Box{Tenant: tenant, Name: "attendant:" + attendant}
}
