/**
 * The autoscaled web service that the load tests and `make bench`'s day of traffic drive: two
 * m5.large, a Deployment whose pods spend 10 ms of CPU and 20 ms of service time per request,
 * a LoadBalancer Service, and a CPU HPA (1–10 replicas at 50 %).
 */
export const FLEET = `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: general}
spec:
  minSize: 2
  maxSize: 2
  desiredCapacity: 2
  launchTemplate: {instanceType: m5.large}
  availabilityZones: [us-east-1a, us-east-1b]
`;
// 10 ms of CPU a request: 40 requests a second are 400m, eight pods at 50 % of their 100m requests.
export const WEB = (replicas: number): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.berth.dev/cpu-ms-per-request: "10", sim.berth.dev/service-time-ms: "20"}
    spec:
      containers:
      - {name: web, image: web:1, ports: [{containerPort: 8080}], resources: {requests: {cpu: 100m, memory: 64Mi}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;
export const HPA = `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
`;

