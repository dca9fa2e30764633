# A deployment that plans offline: terraform_data is built into Terraform, so
# `terraform init && terraform plan` need no provider and no cloud account.
# Each resource stands for a licensed server; its `input` carries what
# entitlegate matches (product) and counts (vcpu), like an instance's tags and
# instance type would on a real provider.

terraform {
  required_version = ">= 1.4"
}

variable "app_nodes" {
  description = "WebLogic application servers to run (4 vCPU each)."
  type        = number
  default     = 2
}

variable "batch_vcpu" {
  description = "vCPU of the unlicensed batch worker (not a licensed product)."
  type        = number
  default     = 8
}

resource "terraform_data" "app" {
  count = var.app_nodes
  input = {
    product = "weblogic-ee"
    vcpu    = 4
    role    = "app"
  }
}

resource "terraform_data" "admin" {
  input = {
    product = "weblogic-ee"
    vcpu    = 2
    role    = "admin"
  }

  # Replaced in place of being updated: entitlegate counts both copies at the
  # peak of the change (create-before-destroy).
  lifecycle {
    create_before_destroy = true
  }
}

resource "terraform_data" "batch" {
  input = {
    product = "none"
    vcpu    = var.batch_vcpu
  }
}
