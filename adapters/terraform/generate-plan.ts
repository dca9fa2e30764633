// A synthetic `terraform show -json` plan of n aws_instance changes (creates,
// in-place updates, replaces; a third licensed), for speed tests and benches.

const types = ['m5.xlarge', 'r6i.2xlarge', 'c5.large', 't3.micro', 'db.r5.4xlarge'];

export function generatePlan(n: number): string {
  const changes = [];
  for (let i = 0; i < n; i++) {
    const after = {
      ami: 'ami-0c1bc246476a5572b',
      instance_type: types[i % types.length],
      tags: { Name: `node-${i}`, licence: i % 3 === 0 ? 'weblogic-ee' : 'none', team: `team-${i % 40}` },
      root_block_device: [{ volume_size: 100, volume_type: 'gp3', encrypted: true }],
      user_data_replace_on_change: false,
      source_dest_check: true,
    };
    const actions = i % 10 === 0 ? ['delete', 'create'] : i % 7 === 0 ? ['update'] : ['create'];
    const module = i % 2 === 0 ? `module.svc["s${i % 50}"].` : '';
    changes.push({
      address: `${module}aws_instance.node[${i}]`,
      ...(module ? { module_address: module.slice(0, -1) } : {}),
      mode: 'managed',
      type: 'aws_instance',
      name: 'node',
      index: i,
      provider_name: 'registry.terraform.io/hashicorp/aws',
      change: {
        actions,
        before: actions[0] === 'create' ? null : { ...after, instance_type: 'm5.large', id: `i-${i.toString(16).padStart(17, '0')}` },
        after,
        after_unknown: {
          arn: true,
          id: true,
          private_ip: true,
          public_ip: true,
          root_block_device: [{ volume_id: true }],
          tags: {},
          tags_all: true,
        },
        before_sensitive: actions[0] === 'create' ? false : { tags: {} },
        after_sensitive: { root_block_device: [{}], tags: {}, tags_all: {} },
      },
    });
  }
  return JSON.stringify({
    format_version: '1.2',
    terraform_version: '1.5.7',
    planned_values: { root_module: {} },
    resource_changes: changes,
    configuration: {
      provider_config: {
        aws: { name: 'aws', full_name: 'registry.terraform.io/hashicorp/aws', expressions: { region: { constant_value: 'eu-west-1' } } },
      },
      root_module: {
        resources: [{ address: 'aws_instance.node', mode: 'managed', type: 'aws_instance', name: 'node', provider_config_key: 'aws' }],
      },
    },
  });
}
