"""Compares two OpenAPI documents, for moving the document into the code without losing detail.

    python3 openapi_compare.py OLD.json NEW.json

Per operation (method + path): operationId, tags, summary, description, security, every
parameter (name, location, required, description, schema; $refs resolved), every response
status (description, content types and schemas, header names; $refs resolved) and the request
body's schema; then the components' schemas and responses property by property, and the
document's info, servers, security and tags. Prints one line per difference.
"""
import json, sys

def load(p):
    return json.load(open(p))

def resolve(doc, v):
    while isinstance(v, dict) and '$ref' in v:
        ptr = v['$ref'][2:].split('/')
        x = doc
        for k in ptr:
            x = x[k]
        v = x
    return v

def operations(doc):
    out = {}
    for path, ops in doc['paths'].items():
        shared = ops.get('parameters', [])
        for m, op in ops.items():
            if m == 'parameters':
                continue
            params = {}
            for p in shared + op.get('parameters', []):
                p = resolve(doc, p)
                params[(p['name'], p['in'])] = {k: p.get(k) for k in ('required', 'description', 'schema')}
            responses = {}
            for st, r in op['responses'].items():
                r = resolve(doc, r)
                responses[st] = {
                    'description': r.get('description'),
                    'content': {ct: c.get('schema') for ct, c in r.get('content', {}).items()},
                    'headers': sorted(r.get('headers', {})),
                }
            body = op.get('requestBody')
            out[(m, path)] = {
                'operationId': op.get('operationId'), 'tags': op.get('tags'), 'summary': op.get('summary'),
                'description': op.get('description'), 'security': op.get('security'),
                'params': params, 'responses': responses,
                'body': body and {ct: c.get('schema') for ct, c in body['content'].items()},
                'body_required': body and body.get('required'),
            }
    return out

def diff(a, b, where, out):
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f'{where}/{k}: only in new: {json.dumps(b[k])[:200]}')
            elif k not in b:
                out.append(f'{where}/{k}: only in old: {json.dumps(a[k])[:200]}')
            else:
                diff(a[k], b[k], f'{where}/{k}', out)
    else:
        out.append(f'{where}: old {json.dumps(a)[:200]} → new {json.dumps(b)[:200]}')

old, new = load(sys.argv[1]), load(sys.argv[2])
out = []
oo, no = operations(old), operations(new)
for key in sorted(set(oo) | set(no)):
    name = f'{key[0].upper()} {key[1]}'
    if key not in no:
        out.append(f'{name}: missing in new')
    elif key not in oo:
        out.append(f'{name}: only in new')
    else:
        diff({str(k): v for k, v in oo[key].items()} | {'params': {str(k): v for k, v in oo[key]['params'].items()}},
             {str(k): v for k, v in no[key].items()} | {'params': {str(k): v for k, v in no[key]['params'].items()}},
             name, out)
for kind in ('schemas', 'responses', 'securitySchemes'):
    diff(old['components'].get(kind, {}), new['components'].get(kind, {}), f'components/{kind}', out)
for k in ('openapi', 'info', 'servers', 'security', 'tags'):
    diff(old.get(k), new.get(k), k, out)
print('\n'.join(out) if out else 'no differences')
print(f'{len(oo)} operations old, {len(no)} new; {len(out)} differences', file=sys.stderr)
