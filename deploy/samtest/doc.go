// Package samtest checks template.yaml, the AWS SAM template at the root
// of the repository, against weft itself: it expands the template's
// Fn::ForEach loops and evaluates its intrinsic functions the way
// CloudFormation would for a set of parameters, then checks that it makes
// exactly the queues the SQS naming rule gives for the roles' topics, that
// every consumed queue feeds its role's function with partial batch
// failures, that the functions' settings are weft's and their grants the
// least they need, and that sam build finds a Makefile target for each
// function. It holds tests only and needs no AWS account and no network;
// scripts/cfnlint.sh (make lint-template) checks the template against
// CloudFormation's own schemas.
package samtest
