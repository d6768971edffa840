package pfdeploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// outcome is what apply did to one function.
type outcome struct {
	action string // created, updated or replaced
	// dropped are topics the function consumed before and no longer
	// does (a replaced function's).
	dropped []string
}

// apply creates f's function, or updates the one there with the new
// binary and configuration. Pulsar refuses an update that adds an input
// topic or changes the subscription or the processing guarantees, so such
// a function is deleted and created again: its subscriptions stay
// (cleanupSubscription is off), so nothing pending is lost.
func (c *client) apply(ctx context.Context, f function, timeout time.Duration) (outcome, error) {
	get, cancel := context.WithTimeout(ctx, timeout)
	existing, err := c.fns.GetFunctionWithContext(get, f.config.Tenant, f.config.Namespace, f.config.Name)
	cancel()
	switch {
	case notFound(err):
		if err := c.create(ctx, f, timeout, "create function "+f.fqfn()); err != nil {
			return outcome{}, err
		}
		return outcome{action: "created"}, nil
	case err != nil:
		return outcome{}, c.explain("look up function "+f.fqfn(), err)
	}
	had := inputsOf(existing)
	if slices.Equal(had, f.config.Inputs) && existing.SubName == f.config.SubName &&
		(existing.ProcessingGuarantees == "" || existing.ProcessingGuarantees == f.config.ProcessingGuarantees) {
		if err := c.fns.UpdateFunctionWithContext(ctx, &f.config, f.binary, nil); err != nil {
			return outcome{}, c.explain("update function "+f.fqfn(), err)
		}
		return outcome{action: "updated"}, nil
	}
	del, cancel := context.WithTimeout(ctx, timeout)
	err = c.fns.DeleteFunctionWithContext(del, f.config.Tenant, f.config.Namespace, f.config.Name)
	cancel()
	if err != nil && !notFound(err) {
		return outcome{}, c.explain("delete function "+f.fqfn()+" to replace it (its inputs or subscription changed)", err)
	}
	if err := c.create(ctx, f, timeout, "create function "+f.fqfn()+" again after deleting it to change its inputs or subscription"); err != nil {
		return outcome{}, err
	}
	var dropped []string
	for _, t := range had {
		if !slices.Contains(f.config.Inputs, t) {
			dropped = append(dropped, t)
		}
	}
	return outcome{action: "replaced", dropped: dropped}, nil
}

// create creates f's function, first deleting the packages a deleted
// function of its name left behind: the broker keeps them (Pulsar issue
// 20930) and refuses a new function whose first package has the same name
// ("Package 'function://...@0' metadata already exists").
// what names the step in an error.
func (c *client) create(ctx context.Context, f function, timeout time.Duration, what string) error {
	if c.prepare != nil && !c.prepared {
		if err := c.prepare(ctx); err != nil {
			return err
		}
		c.prepared = true
	}
	if err := c.dropPackages(ctx, f.config.Tenant, f.config.Namespace, f.config.Name, timeout); err != nil {
		return err
	}
	if err := c.fns.CreateFuncWithContext(ctx, &f.config, f.binary); err != nil {
		return c.explain(what, err)
	}
	return nil
}

// dropPackages deletes every stored package version of the function
// name, which must not exist (its errors are explained). A broker that
// stores no packages, or will not list them, has nothing in the way, so
// only a failed deletion is an error.
func (c *client) dropPackages(ctx context.Context, tenant, namespace, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pkg := "function://" + tenant + "/" + namespace + "/" + name
	versions, err := c.pkgs.ListVersionsWithContext(ctx, pkg)
	if err != nil {
		return nil
	}
	for _, v := range versions {
		err := c.pkgs.DeleteWithContext(ctx, pkg+"@"+v)
		if err == nil || notFound(err) {
			continue
		}
		// A version whose metadata is gone is listed still, and its
		// deletion fails, but it is in nobody's way.
		if _, merr := c.pkgs.GetMetadataWithContext(ctx, pkg+"@"+v); notFound(merr) {
			continue
		}
		return c.explain(fmt.Sprintf("delete the package %s@%s a deleted function left", pkg, v), err)
	}
	return nil
}

// inputsOf lists the topics a deployed function consumes, sorted: the
// broker reports them as inputs, input specs or both.
func inputsOf(fc utils.FunctionConfig) []string {
	set := map[string]bool{}
	for _, t := range fc.Inputs {
		set[t] = true
	}
	for t := range fc.InputSpecs {
		set[t] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// remove deletes the function named, and the packages of its binaries,
// which the broker keeps otherwise; gone reports that there was no
// function.
func (c *client) remove(ctx context.Context, tenant, namespace, name string, timeout time.Duration) (gone bool, err error) {
	del, cancel := context.WithTimeout(ctx, timeout)
	err = c.fns.DeleteFunctionWithContext(del, tenant, namespace, name)
	cancel()
	if err != nil && !notFound(err) {
		return false, c.explain(fmt.Sprintf("delete function %s/%s/%s", tenant, namespace, name), err)
	}
	return notFound(err), c.dropPackages(ctx, tenant, namespace, name, timeout)
}
