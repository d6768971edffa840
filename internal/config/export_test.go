package config

// Fields lists every setting's variable and YAML path, for the external
// tests.
func (c *Config) Fields() (envs, paths []string) {
	for _, f := range c.allFields() {
		envs, paths = append(envs, f.Env), append(paths, f.Path)
	}
	return envs, paths
}

// Unjoin splits a joined error, for the external tests.
var Unjoin = unjoin

// WithoutDriver unregisters a driver until restore is called, to test a
// binary that does not link it.
func WithoutDriver(name string) (restore func()) {
	driversMu.Lock()
	d := drivers[name]
	delete(drivers, name)
	driversMu.Unlock()
	return func() {
		driversMu.Lock()
		drivers[name] = d
		driversMu.Unlock()
	}
}
