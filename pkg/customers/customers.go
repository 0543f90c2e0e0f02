// Package customers reads Grid customers for the link and applies
// verification reviews to them in DynamoDB (the memory form of both is
// memstore.Customers, which the platform API shares).
package customers

// Rejection is what a store keeps about a REJECTED customer for operators.
type Rejection struct {
	Type   string
	Labels []string
}
