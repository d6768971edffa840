// Package pfdeploy is the pulsar-functions deploy target: `deploy
// pulsar-functions` creates or updates one Apache Pulsar Function per role
// through the functions worker's admin API (pulsaradmin), `undeploy
// pulsar-functions` deletes them. app/pulsarfunctions registers it, so
// only a binary that imports that package links it and Pulsar's admin
// client.
//
// A function's configuration comes from the roles themselves: its inputs
// are the topics of the role's functions.Function (built on in-memory
// drivers only to list them) as the Pulsar transport names them, its
// subscription is the consumer group a worker of the role joins, so
// workers and functions share their backlog, and its userConfig holds the
// WEFT_* settings of the deploying process that the instance runs with.
package pfdeploy
