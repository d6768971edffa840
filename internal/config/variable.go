package config

// Variable reports whether the environment variable env is a setting of
// this binary (its drivers' included), and whether its value is a secret.
// The *_FILE form of a setting is one too, whose value, a path, is no
// secret; so is WEFT_CONFIG_FILE. A deploy uses it to hand a function the
// settings of the deploying process without the variables that are not
// weft's, and to mask what it prints.
func Variable(env string) (known, secret bool) {
	if env == Prefix+"_CONFIG_FILE" {
		return true, false
	}
	for _, f := range newConfig().allFields() {
		switch env {
		case f.Env:
			return true, f.Secret
		case f.Env + "_FILE":
			return true, false
		}
	}
	return false, false
}
