// Package imagetest checks the deployment files at the root of the
// repository: the role images `make images` builds with ko (.ko.yaml), the
// Dockerfile and docker-compose.yaml. It holds tests only.
//
// The image build runs when WEFT_TEST_IMAGES=1 or TEST_REQUIRE_INTEGRATION=1
// (then a failure to build fails the test); the checks of the Dockerfile
// and the compose file always run and need no service.
package imagetest
