// The namespaces every algorithm file reads; each file adds only what is particular to it.
global using System.ComponentModel;
global using Hybrid.Envs;
global using Hybrid.Nn;
global using Hybrid.Nn.Models;
global using Hybrid.Nn.Optim;
global using Hybrid.Training.Config;
global using Hybrid.Training.Losses;
global using Hybrid.Training.Metrics;
global using Hybrid.Training.Parallel;
global using Hybrid.Training.Rollouts;
