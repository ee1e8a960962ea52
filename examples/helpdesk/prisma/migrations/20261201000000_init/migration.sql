-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "analytics";

-- CreateEnum
CREATE TYPE "public"."ticket_status" AS ENUM ('open', 'pending', 'resolved', 'closed');

-- CreateEnum
CREATE TYPE "public"."priority" AS ENUM ('low', 'normal', 'high', 'urgent');

-- CreateEnum
CREATE TYPE "public"."channel" AS ENUM ('email', 'chat', 'phone', 'web');

-- CreateTable
CREATE TABLE "public"."organizations" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."users" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."customers" (
    "id" SERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "phone" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."products" (
    "id" SERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "products_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."labels" (
    "id" SERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "color" TEXT NOT NULL,

    CONSTRAINT "labels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."tickets" (
    "org_id" UUID NOT NULL,
    "id" SERIAL NOT NULL,
    "parent_id" INTEGER,
    "requester_id" INTEGER NOT NULL,
    "assignee_id" UUID,
    "product_sku" TEXT,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" "public"."ticket_status" NOT NULL DEFAULT 'open',
    "priority" "public"."priority" NOT NULL DEFAULT 'normal',
    "channels" "public"."channel"[] DEFAULT ARRAY[]::"public"."channel"[],
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "attachment_checksum" BYTEA,
    "refund_amount" DECIMAL(12,2),
    "internal_notes" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMP(3),

    CONSTRAINT "tickets_pkey" PRIMARY KEY ("org_id","id")
);

-- CreateTable
CREATE TABLE "public"."ticket_labels" (
    "org_id" UUID NOT NULL,
    "ticket_id" INTEGER NOT NULL,
    "label_id" INTEGER NOT NULL,
    "applied_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ticket_labels_pkey" PRIMARY KEY ("org_id","ticket_id","label_id")
);

-- CreateTable
CREATE TABLE "public"."comments" (
    "id" SERIAL NOT NULL,
    "ticket_org_id" UUID NOT NULL,
    "ticket_id" INTEGER NOT NULL,
    "author_id" UUID,
    "body" TEXT NOT NULL,
    "internal" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "comments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "analytics"."events" (
    "id" BIGSERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "ticket_id" INTEGER,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "public"."_CustomerLabels" (
    "A" INTEGER NOT NULL,
    "B" INTEGER NOT NULL,

    CONSTRAINT "_CustomerLabels_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "organizations_slug_key" ON "public"."organizations"("slug");

-- CreateIndex
CREATE INDEX "users_org_id_id_idx" ON "public"."users"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "users_org_id_email_key" ON "public"."users"("org_id", "email");

-- CreateIndex
CREATE INDEX "customers_org_id_email_idx" ON "public"."customers"("org_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "customers_org_id_id_key" ON "public"."customers"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "products_sku_key" ON "public"."products"("sku");

-- CreateIndex
CREATE INDEX "products_org_id_id_idx" ON "public"."products"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "labels_org_id_name_key" ON "public"."labels"("org_id", "name");

-- CreateIndex
CREATE INDEX "tickets_org_id_status_idx" ON "public"."tickets"("org_id", "status");

-- CreateIndex
CREATE INDEX "tickets_org_id_created_at_idx" ON "public"."tickets"("org_id", "created_at");

-- CreateIndex
CREATE INDEX "tickets_org_id_parent_id_idx" ON "public"."tickets"("org_id", "parent_id");

-- CreateIndex
CREATE INDEX "ticket_labels_label_id_idx" ON "public"."ticket_labels"("label_id");

-- CreateIndex
CREATE INDEX "comments_ticket_org_id_ticket_id_idx" ON "public"."comments"("ticket_org_id", "ticket_id");

-- CreateIndex
CREATE INDEX "events_org_id_occurred_at_idx" ON "analytics"."events"("org_id", "occurred_at");

-- CreateIndex
CREATE INDEX "_CustomerLabels_B_index" ON "public"."_CustomerLabels"("B");

-- AddForeignKey
ALTER TABLE "public"."users" ADD CONSTRAINT "users_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."customers" ADD CONSTRAINT "customers_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."products" ADD CONSTRAINT "products_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."labels" ADD CONSTRAINT "labels_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."tickets" ADD CONSTRAINT "tickets_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."tickets" ADD CONSTRAINT "tickets_org_id_requester_id_fkey" FOREIGN KEY ("org_id", "requester_id") REFERENCES "public"."customers"("org_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."tickets" ADD CONSTRAINT "tickets_org_id_parent_id_fkey" FOREIGN KEY ("org_id", "parent_id") REFERENCES "public"."tickets"("org_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "public"."tickets" ADD CONSTRAINT "tickets_assignee_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "public"."users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."tickets" ADD CONSTRAINT "tickets_product_sku_fkey" FOREIGN KEY ("product_sku") REFERENCES "public"."products"("sku") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."ticket_labels" ADD CONSTRAINT "ticket_labels_org_id_ticket_id_fkey" FOREIGN KEY ("org_id", "ticket_id") REFERENCES "public"."tickets"("org_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."ticket_labels" ADD CONSTRAINT "ticket_labels_label_id_fkey" FOREIGN KEY ("label_id") REFERENCES "public"."labels"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."comments" ADD CONSTRAINT "comments_ticket_org_id_ticket_id_fkey" FOREIGN KEY ("ticket_org_id", "ticket_id") REFERENCES "public"."tickets"("org_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."comments" ADD CONSTRAINT "comments_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "analytics"."events" ADD CONSTRAINT "events_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "analytics"."events" ADD CONSTRAINT "events_org_id_ticket_id_fkey" FOREIGN KEY ("org_id", "ticket_id") REFERENCES "public"."tickets"("org_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "public"."_CustomerLabels" ADD CONSTRAINT "_CustomerLabels_A_fkey" FOREIGN KEY ("A") REFERENCES "public"."customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public"."_CustomerLabels" ADD CONSTRAINT "_CustomerLabels_B_fkey" FOREIGN KEY ("B") REFERENCES "public"."labels"("id") ON DELETE CASCADE ON UPDATE CASCADE;
