// Package linked chooses the drivers built into the role binaries. Without
// build tags it links every one; with the tag weft_custom, only those whose
// tag is given as well: weft_pulsar (the Pulsar transport and the Pulsar
// Functions runtime), weft_knative (the Knative transport and runtime),
// weft_sqs (the SQS transport), weft_pgqueue, weft_postgres, weft_redis,
// weft_mysql.
// `make functions DRIVERS="pulsar postgres"` builds with those tags, which
// keeps each binary to what its deployment uses. The AWS Lambda runtime
// (with the SQS transport) is linked only with weft_lambda, which needs
// lambda.norpc beside it (make lambda builds so).
package linked
