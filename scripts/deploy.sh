#!/usr/bin/env bash
# make deploy: the storefront on EKS, every step idempotent:
#   1. the cluster (eksctl create cluster -f k8s/eks/cluster.yaml) unless it exists; kubeconfig for it
#   2. the AWS side (CloudFormation k8s/eks/storefront-aws.yaml): tables, topic, queue + DLQ, bucket, cache,
#      the customers' user pool and app client, ECR repositories, one role per service with its Pod Identity
#      association
#   3. platform add-ons: cert-manager + ADOT (collector k8s/eks/adot-collector.yaml), Istio, the AWS Load
#      Balancer Controller, kube-prometheus-stack, KEDA (pinned in k8s/versions.env)
#   4. skaffold run -p eks: build the images, push them to ECR, helm upgrade --install with values-eks.yaml
# MESH_MODE=ambient (make deploy MESH_MODE=ambient): Istio's ambient data plane (ztunnel, waypoint) instead of
# sidecars; skaffold's ambient profile follows the same variable.
# Needs: SEAWAY_HOST (the public host name) and SEAWAY_CERTIFICATE_ARN (an ACM certificate for it).
# Optional: AWS_REGION (default: the region of k8s/eks/cluster.yaml), SEAWAY_EKS_CLUSTER (default seaway).
set -euo pipefail
export SCRIPT_NAME=deploy
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require aws eksctl kubectl helm skaffold docker
[[ -n "${SEAWAY_HOST:-}" ]] || die "set SEAWAY_HOST to the storefront's public host name (e.g. shop.example.com)"
[[ -n "${SEAWAY_CERTIFICATE_ARN:-}" ]] || die "set SEAWAY_CERTIFICATE_ARN to an ACM certificate ARN for $SEAWAY_HOST"

CLUSTER_CONFIG="$ROOT/k8s/eks/cluster.yaml"
CLUSTER="${SEAWAY_EKS_CLUSTER:-seaway}"
export AWS_REGION="${AWS_REGION:-$(sed -n 's/^  region: *//p' "$CLUSTER_CONFIG" | head -n1)}"
STACK="${SEAWAY_STACK:-seaway-$SEAWAY_NAMESPACE}"
AWS_ACCOUNT_ID="$(aws sts get-caller-identity --query Account --output text)" ||
  die "aws sts get-caller-identity failed: configure AWS credentials (aws configure sso, or a profile)"
export AWS_ACCOUNT_ID
REGISTRY="$AWS_ACCOUNT_ID.dkr.ecr.$AWS_REGION.amazonaws.com"

# 1. The cluster.
if eksctl get cluster --name "$CLUSTER" --region "$AWS_REGION" >/dev/null 2>&1; then
  say "EKS cluster $CLUSTER exists in $AWS_REGION"
else
  say "creating EKS cluster $CLUSTER in $AWS_REGION (15-20 minutes)"
  eksctl create cluster -f "$CLUSTER_CONFIG"
fi
aws eks update-kubeconfig --name "$CLUSTER" --region "$AWS_REGION" >/dev/null
CONTEXT="$(kubectl config current-context)"

# 2. The AWS resources the services declare, and their roles.
vpc_config() { aws eks describe-cluster --name "$CLUSTER" --region "$AWS_REGION" --query "cluster.resourcesVpcConfig.$1" --output text; }
read -r -a cluster_subnets <<<"$(vpc_config subnetIds)"
# shellcheck disable=SC2016  # the backquotes are a JMESPath literal, not a command
private_subnets="$(aws ec2 describe-subnets --region "$AWS_REGION" --subnet-ids "${cluster_subnets[@]}" \
  --query 'Subnets[?MapPublicIpOnLaunch==`false`].SubnetId' --output text | tr '\t' ',')"
say "CloudFormation stack $STACK"
aws cloudformation deploy --region "$AWS_REGION" --stack-name "$STACK" \
  --template-file "$ROOT/k8s/eks/storefront-aws.yaml" --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides "ClusterName=$CLUSTER" "Namespace=$SEAWAY_NAMESPACE" \
  "CacheSubnetIds=$private_subnets" "CacheSecurityGroupIds=$(vpc_config clusterSecurityGroupId)"
stack_output() {
  aws cloudformation describe-stacks --region "$AWS_REGION" --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
SEAWAY_REDIS_URL="rediss://$(stack_output CacheEndpoint):6379/0"
export SEAWAY_REDIS_URL
# The customers' user pool and its app client: the issuer every service that verifies tokens (and its mesh policy)
# trusts, and the client id of the tokens they accept (skaffold's eks profile sets global.auth from these two).
pool_id="$(stack_output UserPoolId)"
SEAWAY_AUTH_CLIENT_ID="$(stack_output UserPoolClientId)"
[[ -n "$pool_id" && "$pool_id" != None && -n "$SEAWAY_AUTH_CLIENT_ID" && "$SEAWAY_AUTH_CLIENT_ID" != None ]] ||
  die "stack $STACK has no UserPoolId / UserPoolClientId outputs: regenerate k8s/eks/storefront-aws.yaml (make generate)"
SEAWAY_AUTH_ISSUER="https://cognito-idp.$AWS_REGION.amazonaws.com/$pool_id"
export SEAWAY_AUTH_ISSUER SEAWAY_AUTH_CLIENT_ID

# 3. Platform add-ons.
helm_install cert-manager cert-manager "$CERT_MANAGER_VERSION" cert-manager --repo "$CERT_MANAGER_REPO" \
  --set crds.enabled=true
if ! eksctl get addon --cluster "$CLUSTER" --region "$AWS_REGION" --name adot >/dev/null 2>&1; then
  eksctl create addon --cluster "$CLUSTER" --region "$AWS_REGION" --name adot --wait
fi
kubectl apply -f "$ROOT/k8s/eks/adot-collector.yaml" >/dev/null
install_istio --set pilot.cni.enabled=true
# The ALB targets the ingress gateway pods directly (IP mode); readiness gates hold a rollout until they're healthy.
namespace istio-ingress elbv2.k8s.aws/pod-readiness-gate-inject=enabled
helm_install aws-load-balancer-controller aws-load-balancer-controller "$AWS_LOAD_BALANCER_CONTROLLER_VERSION" \
  kube-system --repo "$EKS_CHARTS_REPO" --set "clusterName=$CLUSTER" --set "region=$AWS_REGION" \
  --set "vpcId=$(vpc_config vpcId)" --set serviceAccount.create=false \
  --set serviceAccount.name=aws-load-balancer-controller
# Two or more replicas, a PDB, and a drain longer than the ALB's deregistration delay (k8s/eks/istio-gateway-values.yaml).
helm_install istio-ingressgateway gateway "$ISTIO_VERSION" istio-ingress --repo "$ISTIO_REPO" \
  --values "$ROOT/k8s/eks/istio-gateway-values.yaml"
install_prometheus --values "$ROOT/k8s/kind/kube-prometheus-stack-values.yaml" \
  --set prometheus.service.type=ClusterIP
helm_install keda keda "$KEDA_VERSION" keda --repo "$KEDA_REPO" --set podIdentity.aws.irsa.enabled=false
storefront_namespace

# 4. Images to ECR, then the release.
aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY" >/dev/null
cd "$ROOT"
skaffold run -p eks --default-repo "$REGISTRY/seaway" --kube-context "$CONTEXT"
say "deployed. The ALB (point $SEAWAY_HOST at it):"
kubectl get ingress --all-namespaces -l app.kubernetes.io/part-of=storefront \
  -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,ADDRESS:.status.loadBalancer.ingress[0].hostname
