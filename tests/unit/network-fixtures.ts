/** An existing VPC with two private subnets in two zones, as a config names it. */
export const PRIVATE_NETWORK = {
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnets: [
    { id: 'subnet-0a1b2c3d4e5f60001', zone: 'eu-central-1a', cidr: '10.20.1.0/24' },
    { id: 'subnet-0a1b2c3d4e5f60002', zone: 'eu-central-1b', cidr: '10.20.2.0/24' },
  ],
};

/** The same VPC, its subnets routing to an internet gateway. */
export const PUBLIC_NETWORK = { ...PRIVATE_NETWORK, subnets: PRIVATE_NETWORK.subnets.map((s) => ({ ...s, public: true })) };

/** The private network with its subnets' route tables, which an S3 gateway endpoint needs. */
export const ROUTED_NETWORK = {
  ...PRIVATE_NETWORK,
  subnets: PRIVATE_NETWORK.subnets.map((s, i) => ({ ...s, routeTableId: `rtb-0a1b2c3d4e5f6000${i + 1}` })),
};
