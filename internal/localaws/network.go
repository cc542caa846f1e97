package localaws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Network is a VPC, subnet and security group in moto's EC2, for awsvpc
// services: moto checks the subnets and security groups of create-service
// against its EC2.
type Network struct {
	// VPCID is the VPC, created with DNS hostnames enabled, without which
	// moto's run-task answers HTTP 500.
	VPCID string
	// SubnetID is a subnet of the VPC in us-east-1a.
	SubnetID string
	// SecurityGroupID is a security group of the VPC.
	SecurityGroupID string
}

// Network returns the VPC, subnet and security group of this Client,
// creating them in moto on first use. It returns an error if moto's EC2
// refuses; a later call tries again.
func (c *Client) Network(ctx context.Context) (Network, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	if c.network != nil {
		return *c.network, nil
	}
	n, err := c.createNetwork(ctx)
	if err != nil {
		return Network{}, err
	}
	c.network = &n
	return n, nil
}

// createNetwork speaks EC2's query protocol directly, which is four calls,
// rather than adding the large EC2 SDK module to every test binary.
func (c *Client) createNetwork(ctx context.Context) (Network, error) {
	var vpc struct {
		ID string `xml:"vpc>vpcId"`
	}
	if err := c.ec2(ctx, url.Values{"Action": {"CreateVpc"}, "CidrBlock": {"10.0.0.0/16"}}, &vpc); err != nil {
		return Network{}, err
	}
	if err := c.ec2(ctx, url.Values{
		"Action": {"ModifyVpcAttribute"}, "VpcId": {vpc.ID}, "EnableDnsHostnames.Value": {"true"},
	}, nil); err != nil {
		return Network{}, err
	}
	var subnet struct {
		ID string `xml:"subnet>subnetId"`
	}
	if err := c.ec2(ctx, url.Values{
		"Action": {"CreateSubnet"}, "VpcId": {vpc.ID}, "CidrBlock": {"10.0.1.0/24"}, "AvailabilityZone": {Region + "a"},
	}, &subnet); err != nil {
		return Network{}, err
	}
	var sg struct {
		ID string `xml:"groupId"`
	}
	if err := c.ec2(ctx, url.Values{
		"Action": {"CreateSecurityGroup"}, "VpcId": {vpc.ID}, "GroupName": {"awstest"}, "GroupDescription": {"awstest"},
	}, &sg); err != nil {
		return Network{}, err
	}
	if vpc.ID == "" || subnet.ID == "" || sg.ID == "" {
		return Network{}, fmt.Errorf("create network in moto EC2: missing id in answers (vpc %q, subnet %q, security group %q)", vpc.ID, subnet.ID, sg.ID)
	}
	return Network{VPCID: vpc.ID, SubnetID: subnet.ID, SecurityGroupID: sg.ID}, nil
}

// ec2 sends one signed EC2 query request to moto and decodes the XML answer
// into out, if not nil.
func (c *Client) ec2(ctx context.Context, form url.Values, out any) error {
	return c.query(ctx, "ec2", "2016-11-15", form, out)
}

// query sends one signed query-protocol request of the service with the
// signing name service and API version to moto, and decodes the XML answer
// into out, if not nil. moto serves EC2 and CloudWatch this way (the SDK's
// CloudWatch client speaks another protocol, which moto does not serve).
func (c *Client) query(ctx context.Context, service, version string, form url.Values, out any) error {
	action := form.Get("Action")
	form.Set("Version", version)
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", service, action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s %s: %w", service, action, err)
	}
	sum := sha256.Sum256([]byte(body))
	// moto routes a request to a service by the signing name in its
	// Authorization header.
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, Region, time.Now()); err != nil {
		return fmt.Errorf("%s %s: sign: %w", service, action, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", service, action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", service, action, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %s: %s", service, action, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", service, action, err)
	}
	return nil
}
