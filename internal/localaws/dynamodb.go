package localaws

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/ecrdeploy/ecrdeploy"
)

// StateTable is the name the tests and the demo give the state table.
const StateTable = "ecrdeploy-state"

// stateTableResource is the logical id of the state table in template.yaml.
const stateTableResource = "StateTable"

// tableProperties are the properties of an AWS::DynamoDB::Table that decide
// what the table is to the code that uses it: its keys, its indexes and how
// it is billed. Encryption, recovery and the time to live change nothing a
// client sees (moto stores the time to live and never enforces it).
type tableProperties struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []keyElement `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string       `yaml:"IndexName"`
		KeySchema  []keyElement `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
}

type keyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// StateTableInput returns the CreateTable input of the state table as
// template.yaml defines it, named name. It returns an error when the
// template has no such resource or it cannot be read.
func StateTableInput(template []byte, name string) (*dynamodb.CreateTableInput, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(template)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	res, ok := doc.Resources[stateTableResource]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		return nil, fmt.Errorf("template: no AWS::DynamoDB::Table resource %s", stateTableResource)
	}
	var p tableProperties
	if err := res.Properties.Decode(&p); err != nil {
		return nil, fmt.Errorf("template: %s: %w", stateTableResource, err)
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingMode(p.BillingMode)}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	in.KeySchema = keySchema(p.KeySchema)
	for _, g := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName), KeySchema: keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(g.Projection.ProjectionType), NonKeyAttributes: g.Projection.NonKeyAttributes},
		})
	}
	if len(in.KeySchema) == 0 {
		return nil, fmt.Errorf("template: %s has no KeySchema", stateTableResource)
	}
	return in, nil
}

func keySchema(ks []keyElement) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}

// CreateStateTable creates the state table in moto, named name, from the
// resource template.yaml defines; a table of that name that exists already
// is left as it is.
func CreateStateTable(ctx context.Context, cfg aws.Config, name string) error {
	in, err := StateTableInput(ecrdeploy.Template, name)
	if err != nil {
		return err
	}
	_, err = dynamodb.NewFromConfig(cfg).CreateTable(ctx, in)
	var exists *ddbtypes.ResourceInUseException
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}

// CreateStateTable creates the state table in moto (see the function of
// that name).
func (c *Client) CreateStateTable(ctx context.Context, name string) error {
	return CreateStateTable(ctx, c.Config, name)
}

// stateKey is the key of an environment's current record in the state
// table (the layout pkg/state writes).
func stateKey(repository, environment string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: repository},
		"sk": &ddbtypes.AttributeValueMemberS{Value: "record#" + environment},
	}
}

// StateRecord returns the JSON of an environment's current record in the
// state table, and false (with a nil error) when it has none.
func (c *Client) StateRecord(ctx context.Context, table, repository, environment string) (string, bool, error) {
	out, err := dynamodb.NewFromConfig(c.Config).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: stateKey(repository, environment), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("get state of %s/%s: %w", repository, environment, err)
	}
	if gz, ok := out.Item["recordGz"].(*ddbtypes.AttributeValueMemberB); ok {
		zr, err := gzip.NewReader(bytes.NewReader(gz.Value))
		if err != nil {
			return "", false, fmt.Errorf("state of %s/%s: %w", repository, environment, err)
		}
		b, err := io.ReadAll(zr)
		return string(b), err == nil, err
	}
	v, ok := out.Item["record"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return "", false, nil
	}
	return v.Value, true, nil
}

// PutStateRecord writes the JSON of an environment's current record into
// the state table as a writer that came first would: the next revision,
// whatever the record says. It writes no change item.
func (c *Client) PutStateRecord(ctx context.Context, table, repository, environment, record string) error {
	_, err := dynamodb.NewFromConfig(c.Config).UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: stateKey(repository, environment),
		UpdateExpression:         aws.String("SET #r = :r, #e = :e ADD #v :one"),
		ExpressionAttributeNames: map[string]string{"#r": "record", "#e": "environment", "#v": "rev"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":r": &ddbtypes.AttributeValueMemberS{Value: record}, ":e": &ddbtypes.AttributeValueMemberS{Value: environment},
			":one": &ddbtypes.AttributeValueMemberN{Value: "1"},
		},
	})
	if err != nil {
		return fmt.Errorf("put state of %s/%s: %w", repository, environment, err)
	}
	return nil
}

// DeleteStateRecord deletes an environment's current record (not its
// changes) from the state table.
func (c *Client) DeleteStateRecord(ctx context.Context, table, repository, environment string) error {
	_, err := dynamodb.NewFromConfig(c.Config).DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: stateKey(repository, environment)})
	if err != nil {
		return fmt.Errorf("delete state of %s/%s: %w", repository, environment, err)
	}
	return nil
}
