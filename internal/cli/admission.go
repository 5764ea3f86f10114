package cli

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/cxops/cx-operator/config/crd"
)

// This file admits objects the way the API server admits a create of a
// custom resource, with the API server's own libraries and the CRDs
// embedded from config/crd/bases: it prunes unknown fields, applies the
// schema's defaults, and validates the metadata, the OpenAPI schema, the
// list types and the CRD's x-kubernetes-validations (CEL) rules. The steps
// and their order follow k8s.io/apiextensions-apiserver's create path
// (decoding with pruning and defaulting, then the strategy's Validate).

// kindSchema is what the API server holds for one kind of the CRDs.
type kindSchema struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// schemas are the kinds of the embedded CRDs, by kind; built once.
var schemas = sync.OnceValues(func() (map[string]*kindSchema, error) {
	crds, err := crd.Load()
	if err != nil {
		return nil, err
	}
	out := map[string]*kindSchema{}
	for _, c := range crds {
		for _, v := range c.Spec.Versions {
			if !v.Served {
				continue
			}
			ks, err := newKindSchema(c, v.Name)
			if err != nil {
				return nil, fmt.Errorf("loading the schema of %s %s: %w", c.Spec.Names.Kind, v.Name, err)
			}
			out[ks.gvk.Kind] = ks
		}
	}
	return out, nil
})

func newKindSchema(c *apiextensionsv1.CustomResourceDefinition, version string) (*kindSchema, error) {
	val, err := apihelpers.GetSchemaForVersion(c, version)
	if err != nil {
		return nil, err
	}
	if val == nil || val.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("the CRD has no schema")
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema: %w", err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("the schema is not structural: %w", err)
	}
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("pruning the defaults: %w", err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("building the schema validator: %w", err)
	}
	return &kindSchema{
		gvk:        schema.GroupVersionKind{Group: c.Spec.Group, Version: version, Kind: c.Spec.Names.Kind},
		namespaced: c.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: s,
		validator:  validator,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// admission is the outcome of admitting one object.
type admission struct {
	// Object is the object as the API server would store it on create:
	// pruned, defaulted, without status.
	Object *unstructured.Unstructured
	// Errors are the errors the API server would give, each with its field
	// path; the create is refused when there is any.
	Errors field.ErrorList
	// UnknownFields are fields the schema does not have. The API server
	// refuses them under kubectl's default --validate=strict, and drops
	// them otherwise; Errors describe the object without them.
	UnknownFields field.ErrorList
	// CELSkipped says that errors of the schema kept the CEL rules from
	// running, as they keep the API server from running them.
	CELSkipped bool
}

// celSkippedMessage is what the API server adds when schema errors keep it
// from running the CEL rules.
const celSkippedMessage = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// admit admits an object. The object given is not changed.
func (k *kindSchema) admit(ctx context.Context, in *unstructured.Unstructured) admission {
	u := in.DeepCopy()
	unknown, errs := k.decode(u)
	if len(errs) > 0 {
		return admission{Object: u, Errors: errs, UnknownFields: unknown}
	}
	// Status is the controller's: a create drops it.
	delete(u.Object, "status")
	errs, skipped := k.validate(ctx, u)
	return admission{Object: u, Errors: errs, UnknownFields: unknown, CELSkipped: skipped}
}

// refused says whether the API server refuses the object under kubectl's
// default --validate=strict.
func (a admission) refused() bool { return len(a.Errors) > 0 || len(a.UnknownFields) > 0 }

// all returns the unknown fields and the errors.
func (a admission) all() field.ErrorList {
	return append(append(field.ErrorList(nil), a.UnknownFields...), a.Errors...)
}

// decode prunes, coerces and defaults u in place, as the API server's
// decoder does, and returns the unknown fields as kubectl's default
// --validate=strict makes the API server report them, and the errors that
// keep the object from decoding at all.
func (k *kindSchema) decode(u *unstructured.Unstructured) (unknownFields, errs field.ErrorList) {
	kind, apiVersion := u.GetKind(), u.GetAPIVersion()
	meta, found, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(u.Object, k.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, k.structural)
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, u.Object, k.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if ferr != nil {
		return nil, field.ErrorList{ferr}
	}
	unknown = append(unknown, paths...)
	u.SetKind(kind)
	u.SetAPIVersion(apiVersion)
	if found {
		if err := schemaobjectmeta.SetObjectMeta(u.Object, meta); err != nil {
			return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
		}
	}
	structuraldefaulting.Default(u.Object, k.structural)

	sort.Strings(unknown)
	for _, p := range unknown {
		unknownFields = append(unknownFields, &field.Error{Type: field.ErrorTypeNotSupported, Field: p, BadValue: field.OmitValueType{},
			Detail: "unknown field: the schema has no such field (the API server rejects it with kubectl's default --validate=strict)"})
	}
	return unknownFields, nil
}

// validate runs the create validation of the API server's custom resource
// strategy: metadata, schema, embedded resources, list types, and the CEL
// rules unless an error of the schema already blocks them.
func (k *kindSchema) validate(ctx context.Context, u *unstructured.Unstructured) (errs field.ErrorList, celSkipped bool) {
	if u.GetAPIVersion() != k.gvk.GroupVersion().String() {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), u.GetAPIVersion(), "must be "+k.gvk.GroupVersion().String()))
	}
	errs = append(errs, apivalidation.ValidateObjectMetaAccessor(u, k.namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.UnstructuredContent(), k.validator)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u.Object, k.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, k.structural, u.Object)...)
	if blocked(errs) {
		return errs, true
	}
	celErrs, _ := k.cel.Validate(ctx, nil, k.structural, u.Object, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...), false
}

// blocked says whether the errors keep the API server from running the CEL
// rules: type, enum, required, length and count violations.
func blocked(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// admitObject admits an object of a kind of the CRDs.
func admitObject(ctx context.Context, u *unstructured.Unstructured) (admission, error) {
	kinds, err := schemas()
	if err != nil {
		return admission{}, err
	}
	k, ok := kinds[u.GetKind()]
	if !ok {
		return admission{}, fmt.Errorf("the embedded CRDs have no kind %s", u.GetKind())
	}
	return k.admit(ctx, u), nil
}

// fromUnstructured decodes an admitted object into its Go type.
func fromUnstructured(u *unstructured.Unstructured, target any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, target); err != nil {
		return fmt.Errorf("decoding the %s: %w", u.GetKind(), err)
	}
	return nil
}
