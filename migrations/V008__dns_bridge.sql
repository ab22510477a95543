-- DNS bridging: the Cloudflare and Route 53 records of a snapshot, followed through CNAMEs and
-- aliases to the AWS resource behind each name, with the network node reachability and attack
-- paths join on. A name pointing at an AWS-owned hostname that no collected resource answers is
-- dangling (a subdomain-takeover risk).

-- A DNS name as compared here: lower-case, no trailing dot, Route 53's `\052` escape read back as
-- the `*` of a wildcard record.
CREATE FUNCTION dns_name(value text) RETURNS text LANGUAGE sql IMMUTABLE STRICT
    RETURN lower(replace(regexp_replace(value, '\.$', ''), '\052', '*'));

-- A record value as an address, NULL when it is not one: record contents are vendor data, and a
-- malformed one must not abort the whole query.
CREATE FUNCTION inet_or_null(value text) RETURNS inet LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN value::inet;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END $$;

-- The S3 bucket an S3 hostname serves: website endpoints (`<bucket>.s3-website-<region>…`,
-- `<bucket>.s3-website.<region>…`) and REST endpoints (`<bucket>.s3.amazonaws.com`,
-- `<bucket>.s3.<region>…`, `<bucket>.s3-<region>…`, dual-stack). A Route 53 alias to a website
-- endpoint names no bucket (`s3-website-<region>.amazonaws.com`): S3 serves the bucket called like
-- the record, `alias_name`.
CREATE FUNCTION s3_bucket_of_hostname(host text, alias_name text) RETURNS text LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN host ~ '^s3-website[-.][a-z0-9-]+\.amazonaws\.com(\.cn)?$' THEN alias_name
        ELSE coalesce(
            substring(host FROM '^(.+)\.s3-website[-.][a-z0-9-]+\.amazonaws\.com(?:\.cn)?$'),
            substring(host FROM '^(.+)\.s3(?:\.dualstack)?(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$'))
    END;

-- One row per (record, value, chain of names followed); see the header. Names are followed at
-- most 8 steps and never into a name already on the chain, so cycles end.
CREATE FUNCTION dns_bridge(snap bigint) RETURNS TABLE (
    provider      text,
    zone          text,
    name          text,
    record_type   text,
    proxied       boolean,
    private_zone  boolean,
    chain         text[],
    target        text,
    resource_type text,
    resource_id   text,
    node_id       text,
    account_id    text,
    region        text,
    dangling      boolean
)
LANGUAGE sql STABLE AS $$
WITH RECURSIVE records AS (
    SELECT 'cloudflare' AS provider, dns_name(z.name) AS zone, dns_name(r.name) AS name,
           upper(r.type) AS record_type, r.proxied, NULL::boolean AS private_zone,
           upper(r.type) = 'CNAME' AS value_is_name,
           CASE WHEN upper(r.type) = 'CNAME' THEN dns_name(r.content) ELSE r.content END AS value
    FROM cloudflare_dns_records r
    LEFT JOIN cloudflare_zones z ON z.snapshot_id = r.snapshot_id AND z.zone_id = r.zone_id
    WHERE r.snapshot_id = snap AND upper(r.type) IN ('A', 'AAAA', 'CNAME') AND r.content IS NOT NULL
    UNION ALL
    SELECT 'route53', dns_name(z.name), dns_name(r.name), upper(r.type), NULL, z.private_zone,
           v.is_name, CASE WHEN v.is_name THEN dns_name(v.value) ELSE v.value END
    FROM route53_record_sets r
    LEFT JOIN route53_hosted_zones z
           ON z.snapshot_id = r.snapshot_id AND z.account_id IS NOT DISTINCT FROM r.account_id AND z.zone_id = r.zone_id
    -- An alias record has no values of its own: its one value is the alias target.
    CROSS JOIN LATERAL (
        SELECT r.alias_dns_name, true WHERE r.alias_dns_name IS NOT NULL
        UNION ALL
        SELECT value, upper(r.type) = 'CNAME' FROM unnest(r.values) AS value WHERE r.alias_dns_name IS NULL
    ) AS v (value, is_name)
    WHERE r.snapshot_id = snap AND upper(r.type) IN ('A', 'AAAA', 'CNAME') AND v.value IS NOT NULL
), walk AS (
    SELECT r.provider, r.zone, r.name, r.record_type, r.proxied, r.private_zone,
           ARRAY[r.name] AS chain, r.value, r.value_is_name,
           r.value_is_name AND r.value <> r.name AND EXISTS (SELECT 1 FROM records n WHERE n.name = r.value) AS follows
    FROM records r
    UNION ALL
    SELECT w.provider, w.zone, w.name, w.record_type, w.proxied, w.private_zone,
           w.chain || n.name, n.value, n.value_is_name,
           n.value_is_name AND n.value <> ALL (w.chain || n.name) AND cardinality(w.chain) < 8
               AND EXISTS (SELECT 1 FROM records m WHERE m.name = n.value)
    FROM walk w
    JOIN records n ON n.name = w.value
    WHERE w.follows
), ends AS (
    SELECT row_number() OVER () AS end_id, w.provider, w.zone, w.name, w.record_type, w.proxied,
           w.private_zone, w.chain, w.value, w.value_is_name,
           CASE WHEN NOT w.value_is_name THEN inet_or_null(w.value) END AS address,
           -- Route 53 aliases to load balancers carry a `dualstack.` prefix the resource does not.
           CASE WHEN w.value_is_name THEN regexp_replace(w.value, '^dualstack\.', '') END AS host
    FROM walk w
    WHERE NOT w.follows
), hosts AS (
    SELECT e.end_id, e.host, s3_bucket_of_hostname(e.host, e.chain[cardinality(e.chain)]) AS bucket,
           e.host ~ '\.elb(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$' OR e.host ~ '\.cloudfront\.net$' AS aws_owned
    FROM ends e
    WHERE e.host IS NOT NULL
), eni_addresses AS MATERIALIZED (
    SELECT n.network_interface_id, n.account_id, n.region, a.address
    FROM ec2_network_interfaces n
    CROSS JOIN LATERAL (
        SELECT n.public_ip
        UNION
        SELECT inet_or_null(jsonb_path_query(n.raw, '$.Ipv6Addresses[*].Ipv6Address') #>> '{}')
    ) AS a (address)
    WHERE n.snapshot_id = snap AND a.address IS NOT NULL
), matches AS (
    -- An Elastic IP is named before the interface it is attached to: it is what the record holds
    -- and outlives the attachment; the interface is still the node.
    SELECT e.end_id, 1 AS preference, 'elastic_ip' AS resource_type,
           coalesce(a.allocation_id, host(a.public_ip)) AS resource_id, a.network_interface_id AS node_id,
           a.account_id, a.region
    FROM ends e JOIN ec2_addresses a ON a.snapshot_id = snap AND a.public_ip = e.address
    UNION ALL
    SELECT e.end_id, 2, 'network_interface', n.network_interface_id, n.network_interface_id, n.account_id, n.region
    FROM ends e JOIN eni_addresses n ON n.address = e.address
    UNION ALL
    SELECT h.end_id, 3, 'load_balancer', lb.load_balancer_arn, lb.load_balancer_arn, lb.account_id, lb.region
    FROM hosts h JOIN elb_load_balancers lb ON lb.snapshot_id = snap AND dns_name(lb.dns_name) = h.host
    UNION ALL
    SELECT h.end_id, 4, 'cloudfront_distribution', d.distribution_id, NULL, d.account_id, d.region
    FROM hosts h JOIN cloudfront_distributions d ON d.snapshot_id = snap AND dns_name(d.domain_name) = h.host
    UNION ALL
    SELECT h.end_id, 5, 's3_bucket', b.bucket, NULL, b.account_id, coalesce(b.bucket_region, b.region)
    FROM hosts h JOIN s3_buckets b ON b.snapshot_id = snap AND b.bucket = h.bucket
), best AS (
    SELECT DISTINCT ON (end_id) *
    FROM matches
    ORDER BY end_id, preference, account_id, resource_id
)
SELECT e.provider, e.zone, e.name, e.record_type, e.proxied, e.private_zone, e.chain, e.value,
       b.resource_type, b.resource_id, b.node_id, b.account_id, b.region,
       b.end_id IS NULL AND coalesce(h.aws_owned OR h.bucket IS NOT NULL, false)
FROM ends e
LEFT JOIN hosts h ON h.end_id = e.end_id
LEFT JOIN best b ON b.end_id = e.end_id
ORDER BY e.provider, e.name, e.record_type, e.chain, e.value
$$;

CREATE VIEW dns_bridge AS SELECT * FROM dns_bridge(current_inventory_snapshot());
