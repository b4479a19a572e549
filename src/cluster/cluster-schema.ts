/** JSON Schema of the cluster file (`swarmup config schema` prints it). */
export const clusterSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'swarmup Cluster',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: {
      const: 'swarmup.io/v1alpha1',
    },
    kind: {
      const: 'Cluster',
    },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: {
          type: 'string',
          pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$',
        },
        labels: {
          type: 'object',
          additionalProperties: {
            type: 'string',
          },
        },
      },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        driver: {
          type: 'string',
          minLength: 1,
        },
        managers: {
          type: 'integer',
          minimum: 1,
          maximum: 9,
        },
        workers: {
          type: 'integer',
          minimum: 0,
          maximum: 200,
        },
        parallel: {
          type: 'integer',
          minimum: 1,
          maximum: 64,
        },
        ttl: {
          type: 'string',
          pattern: '^([0-9]+[smhd])+$',
        },
        hosts: {
          description:
            'existing hosts, one machine each (drivers of existing hosts: generic); the first "managers" are managers unless a role says otherwise',
          type: 'array',
          minItems: 1,
          maxItems: 209,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['address'],
            properties: {
              address: { type: 'string', minLength: 1, maxLength: 253 },
              role: { enum: ['manager', 'worker'] },
              user: { type: 'string', pattern: '^[a-z_][a-z0-9_.-]{0,31}$' },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              key: { type: 'string', minLength: 1 },
              internalAddress: { type: 'string', minLength: 1, maxLength: 253 },
              labels: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
        },
        driverOptions: {
          type: 'object',
          additionalProperties: {
            anyOf: [
              {
                type: 'string',
              },
              {
                type: 'number',
              },
              {
                type: 'boolean',
              },
              {
                type: 'array',
                items: {
                  type: 'string',
                },
              },
            ],
          },
        },
        engine: {
          type: 'object',
          additionalProperties: false,
          properties: {
            installURL: {
              type: 'string',
            },
            opts: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            env: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            labels: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            insecureRegistries: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            registryMirrors: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            storageDriver: {
              type: 'string',
            },
            tlsSANs: {
              type: 'array',
              items: {
                type: 'string',
              },
            },
          },
        },
      },
    },
  },
} as const;
