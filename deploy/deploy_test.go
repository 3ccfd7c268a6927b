// Package deploy_test checks the job definitions under deploy/: the
// Kubernetes manifests agree with what dist.Detect reads, and the shell
// scripts parse.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/glmc/glmc/dist"
	"go.yaml.in/yaml/v3"
)

// manifest is the part of deploy/k8s/glmc.yaml's documents that glmc's
// rendezvous depends on.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		// Service
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
		Ports     []struct {
			Port       int `yaml:"port"`
			TargetPort int `yaml:"targetPort"`
		} `yaml:"ports"`
		// Job
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				Subdomain  string `yaml:"subdomain"`
				Containers []struct {
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					Ports []struct {
						ContainerPort int `yaml:"containerPort"`
					} `yaml:"ports"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// TestKubernetesManifest reads the Service and the Job of the manifest,
// checks that they agree with each other, and runs dist.Detect on the
// environment a pod of each index gets: rank, world size and the
// rendezvous address (pod 0's DNS name under the Service) must follow.
func TestKubernetesManifest(t *testing.T) {
	f, err := os.Open(filepath.Join("k8s", "glmc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := map[string]manifest{}
	for dec := yaml.NewDecoder(f); ; {
		var m manifest
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		docs[m.Kind] = m
	}
	svc, job := docs["Service"], docs["Job"]
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(svc.Spec.Ports) != 1 || len(pod.Containers[0].Ports) != 1 {
		t.Fatalf("want one container with one port and a Service with one port; got Service %+v, Job %+v", svc, job)
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	port := svc.Spec.Ports[0].Port
	worldSize, _ := strconv.Atoi(env["WORLD_SIZE"])
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"Service clusterIP (headless)", svc.Spec.ClusterIP, "None"},
		{"Service selector job-name", svc.Spec.Selector["job-name"], job.Metadata.Name},
		{"pod subdomain", pod.Subdomain, svc.Metadata.Name},
		{"GLMC_SERVICE", env["GLMC_SERVICE"], svc.Metadata.Name},
		{"Service targetPort", svc.Spec.Ports[0].TargetPort, port},
		{"containerPort", pod.Containers[0].Ports[0].ContainerPort, port},
		{"MASTER_PORT", env["MASTER_PORT"], strconv.Itoa(port)},
		{"completionMode", job.Spec.CompletionMode, "Indexed"},
		{"completions", job.Spec.Completions, worldSize},
		{"parallelism", job.Spec.Parallelism, worldSize},
	} {
		if c.got != c.want {
			t.Errorf("%s is %v, want %v", c.what, c.got, c.want)
		}
	}
	for rank := range worldSize {
		podEnv := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(rank),
			"HOSTNAME": job.Metadata.Name + "-" + strconv.Itoa(rank)}
		for k, v := range env {
			podEnv[k] = v
		}
		l, err := dist.Detect(func(k string) string { return podEnv[k] }, dist.Flags{})
		if err != nil {
			t.Fatalf("pod %d: %v", rank, err)
		}
		want := dist.Launch{Launcher: "kubernetes", Rank: rank, WorldSize: worldSize, LocalRank: 0, LocalSize: 1, Node: rank,
			Addr: job.Metadata.Name + "-0." + svc.Metadata.Name + ":" + strconv.Itoa(port), RunID: job.Metadata.Name}
		if l != want {
			t.Errorf("pod %d: Detect gave %+v, want %+v", rank, l, want)
		}
	}
}

// TestScriptsParse runs bash -n on the Slurm and MPI scripts.
func TestScriptsParse(t *testing.T) {
	scripts, err := filepath.Glob("*/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	scripts = append(scripts, filepath.Join("slurm", "glmc.sbatch"))
	if len(scripts) < 3 {
		t.Fatalf("found only %v", scripts)
	}
	for _, s := range scripts {
		var stderr bytes.Buffer
		cmd := exec.Command("bash", "-n", s)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, stderr.String())
		}
	}
}
