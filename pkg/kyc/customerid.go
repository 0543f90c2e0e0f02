package kyc

// MaxCustomerID bounds a customer id. Grid's look like
// Customer:019542f5-b3e7-1d02-0000-000000000001 (45 characters); the bound
// keeps every id far below DynamoDB's 2048-byte key limit.
const MaxCustomerID = 128

// CheckCustomerID accepts what can be a Grid customer id: 1 to
// MaxCustomerID characters of [A-Za-z0-9:_-]. Anything else names no
// customer, so it is refused before any lookup; the error is an
// InvalidField for "customerId".
func CheckCustomerID(id string) error {
	if id == "" {
		return InvalidField("customerId", "The customer id is empty.")
	}
	if len(id) > MaxCustomerID {
		return InvalidField("customerId", "The customer id is longer than %d characters.", MaxCustomerID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ':' || c == '_' || c == '-') {
			return InvalidField("customerId", "The customer id may contain only letters, digits, ':', '_' and '-'.")
		}
	}
	return nil
}
