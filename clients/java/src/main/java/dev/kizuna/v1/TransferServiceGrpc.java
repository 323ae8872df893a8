package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * TransferService sends files and folders to peers, answers incoming offers and controls
 * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
 * its final name only once verified and fsynced.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class TransferServiceGrpc {

  private TransferServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.TransferService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.CreateTransferRequest,
      dev.kizuna.v1.CreateTransferResponse> getCreateTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateTransfer",
      requestType = dev.kizuna.v1.CreateTransferRequest.class,
      responseType = dev.kizuna.v1.CreateTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.CreateTransferRequest,
      dev.kizuna.v1.CreateTransferResponse> getCreateTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.CreateTransferRequest, dev.kizuna.v1.CreateTransferResponse> getCreateTransferMethod;
    if ((getCreateTransferMethod = TransferServiceGrpc.getCreateTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getCreateTransferMethod = TransferServiceGrpc.getCreateTransferMethod) == null) {
          TransferServiceGrpc.getCreateTransferMethod = getCreateTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.CreateTransferRequest, dev.kizuna.v1.CreateTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CreateTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CreateTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("CreateTransfer"))
              .build();
        }
      }
    }
    return getCreateTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.UploadTransferRequest,
      dev.kizuna.v1.UploadTransferResponse> getUploadTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UploadTransfer",
      requestType = dev.kizuna.v1.UploadTransferRequest.class,
      responseType = dev.kizuna.v1.UploadTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.UploadTransferRequest,
      dev.kizuna.v1.UploadTransferResponse> getUploadTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.UploadTransferRequest, dev.kizuna.v1.UploadTransferResponse> getUploadTransferMethod;
    if ((getUploadTransferMethod = TransferServiceGrpc.getUploadTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getUploadTransferMethod = TransferServiceGrpc.getUploadTransferMethod) == null) {
          TransferServiceGrpc.getUploadTransferMethod = getUploadTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.UploadTransferRequest, dev.kizuna.v1.UploadTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UploadTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.UploadTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.UploadTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("UploadTransfer"))
              .build();
        }
      }
    }
    return getUploadTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.GetTransferRequest,
      dev.kizuna.v1.GetTransferResponse> getGetTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetTransfer",
      requestType = dev.kizuna.v1.GetTransferRequest.class,
      responseType = dev.kizuna.v1.GetTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.GetTransferRequest,
      dev.kizuna.v1.GetTransferResponse> getGetTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.GetTransferRequest, dev.kizuna.v1.GetTransferResponse> getGetTransferMethod;
    if ((getGetTransferMethod = TransferServiceGrpc.getGetTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getGetTransferMethod = TransferServiceGrpc.getGetTransferMethod) == null) {
          TransferServiceGrpc.getGetTransferMethod = getGetTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.GetTransferRequest, dev.kizuna.v1.GetTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("GetTransfer"))
              .build();
        }
      }
    }
    return getGetTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransfersRequest,
      dev.kizuna.v1.ListTransfersResponse> getListTransfersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTransfers",
      requestType = dev.kizuna.v1.ListTransfersRequest.class,
      responseType = dev.kizuna.v1.ListTransfersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransfersRequest,
      dev.kizuna.v1.ListTransfersResponse> getListTransfersMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransfersRequest, dev.kizuna.v1.ListTransfersResponse> getListTransfersMethod;
    if ((getListTransfersMethod = TransferServiceGrpc.getListTransfersMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getListTransfersMethod = TransferServiceGrpc.getListTransfersMethod) == null) {
          TransferServiceGrpc.getListTransfersMethod = getListTransfersMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListTransfersRequest, dev.kizuna.v1.ListTransfersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTransfers"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListTransfersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListTransfersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("ListTransfers"))
              .build();
        }
      }
    }
    return getListTransfersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransferFilesRequest,
      dev.kizuna.v1.ListTransferFilesResponse> getListTransferFilesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListTransferFiles",
      requestType = dev.kizuna.v1.ListTransferFilesRequest.class,
      responseType = dev.kizuna.v1.ListTransferFilesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransferFilesRequest,
      dev.kizuna.v1.ListTransferFilesResponse> getListTransferFilesMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListTransferFilesRequest, dev.kizuna.v1.ListTransferFilesResponse> getListTransferFilesMethod;
    if ((getListTransferFilesMethod = TransferServiceGrpc.getListTransferFilesMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getListTransferFilesMethod = TransferServiceGrpc.getListTransferFilesMethod) == null) {
          TransferServiceGrpc.getListTransferFilesMethod = getListTransferFilesMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListTransferFilesRequest, dev.kizuna.v1.ListTransferFilesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListTransferFiles"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListTransferFilesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListTransferFilesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("ListTransferFiles"))
              .build();
        }
      }
    }
    return getListTransferFilesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.WatchTransferRequest,
      dev.kizuna.v1.WatchTransferResponse> getWatchTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchTransfer",
      requestType = dev.kizuna.v1.WatchTransferRequest.class,
      responseType = dev.kizuna.v1.WatchTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.WatchTransferRequest,
      dev.kizuna.v1.WatchTransferResponse> getWatchTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.WatchTransferRequest, dev.kizuna.v1.WatchTransferResponse> getWatchTransferMethod;
    if ((getWatchTransferMethod = TransferServiceGrpc.getWatchTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getWatchTransferMethod = TransferServiceGrpc.getWatchTransferMethod) == null) {
          TransferServiceGrpc.getWatchTransferMethod = getWatchTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.WatchTransferRequest, dev.kizuna.v1.WatchTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.WatchTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.WatchTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("WatchTransfer"))
              .build();
        }
      }
    }
    return getWatchTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptTransferRequest,
      dev.kizuna.v1.AcceptTransferResponse> getAcceptTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AcceptTransfer",
      requestType = dev.kizuna.v1.AcceptTransferRequest.class,
      responseType = dev.kizuna.v1.AcceptTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptTransferRequest,
      dev.kizuna.v1.AcceptTransferResponse> getAcceptTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptTransferRequest, dev.kizuna.v1.AcceptTransferResponse> getAcceptTransferMethod;
    if ((getAcceptTransferMethod = TransferServiceGrpc.getAcceptTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getAcceptTransferMethod = TransferServiceGrpc.getAcceptTransferMethod) == null) {
          TransferServiceGrpc.getAcceptTransferMethod = getAcceptTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.AcceptTransferRequest, dev.kizuna.v1.AcceptTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AcceptTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AcceptTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AcceptTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("AcceptTransfer"))
              .build();
        }
      }
    }
    return getAcceptTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RejectTransferRequest,
      dev.kizuna.v1.RejectTransferResponse> getRejectTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RejectTransfer",
      requestType = dev.kizuna.v1.RejectTransferRequest.class,
      responseType = dev.kizuna.v1.RejectTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RejectTransferRequest,
      dev.kizuna.v1.RejectTransferResponse> getRejectTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RejectTransferRequest, dev.kizuna.v1.RejectTransferResponse> getRejectTransferMethod;
    if ((getRejectTransferMethod = TransferServiceGrpc.getRejectTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getRejectTransferMethod = TransferServiceGrpc.getRejectTransferMethod) == null) {
          TransferServiceGrpc.getRejectTransferMethod = getRejectTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RejectTransferRequest, dev.kizuna.v1.RejectTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RejectTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("RejectTransfer"))
              .build();
        }
      }
    }
    return getRejectTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.CancelTransferRequest,
      dev.kizuna.v1.CancelTransferResponse> getCancelTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CancelTransfer",
      requestType = dev.kizuna.v1.CancelTransferRequest.class,
      responseType = dev.kizuna.v1.CancelTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.CancelTransferRequest,
      dev.kizuna.v1.CancelTransferResponse> getCancelTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.CancelTransferRequest, dev.kizuna.v1.CancelTransferResponse> getCancelTransferMethod;
    if ((getCancelTransferMethod = TransferServiceGrpc.getCancelTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getCancelTransferMethod = TransferServiceGrpc.getCancelTransferMethod) == null) {
          TransferServiceGrpc.getCancelTransferMethod = getCancelTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.CancelTransferRequest, dev.kizuna.v1.CancelTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CancelTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CancelTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CancelTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("CancelTransfer"))
              .build();
        }
      }
    }
    return getCancelTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.PauseTransferRequest,
      dev.kizuna.v1.PauseTransferResponse> getPauseTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PauseTransfer",
      requestType = dev.kizuna.v1.PauseTransferRequest.class,
      responseType = dev.kizuna.v1.PauseTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.PauseTransferRequest,
      dev.kizuna.v1.PauseTransferResponse> getPauseTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.PauseTransferRequest, dev.kizuna.v1.PauseTransferResponse> getPauseTransferMethod;
    if ((getPauseTransferMethod = TransferServiceGrpc.getPauseTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getPauseTransferMethod = TransferServiceGrpc.getPauseTransferMethod) == null) {
          TransferServiceGrpc.getPauseTransferMethod = getPauseTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.PauseTransferRequest, dev.kizuna.v1.PauseTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PauseTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.PauseTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.PauseTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("PauseTransfer"))
              .build();
        }
      }
    }
    return getPauseTransferMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ResumeTransferRequest,
      dev.kizuna.v1.ResumeTransferResponse> getResumeTransferMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ResumeTransfer",
      requestType = dev.kizuna.v1.ResumeTransferRequest.class,
      responseType = dev.kizuna.v1.ResumeTransferResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ResumeTransferRequest,
      dev.kizuna.v1.ResumeTransferResponse> getResumeTransferMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ResumeTransferRequest, dev.kizuna.v1.ResumeTransferResponse> getResumeTransferMethod;
    if ((getResumeTransferMethod = TransferServiceGrpc.getResumeTransferMethod) == null) {
      synchronized (TransferServiceGrpc.class) {
        if ((getResumeTransferMethod = TransferServiceGrpc.getResumeTransferMethod) == null) {
          TransferServiceGrpc.getResumeTransferMethod = getResumeTransferMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ResumeTransferRequest, dev.kizuna.v1.ResumeTransferResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ResumeTransfer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ResumeTransferRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ResumeTransferResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TransferServiceMethodDescriptorSupplier("ResumeTransfer"))
              .build();
        }
      }
    }
    return getResumeTransferMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static TransferServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TransferServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TransferServiceStub>() {
        @java.lang.Override
        public TransferServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TransferServiceStub(channel, callOptions);
        }
      };
    return TransferServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static TransferServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TransferServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TransferServiceBlockingV2Stub>() {
        @java.lang.Override
        public TransferServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TransferServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return TransferServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static TransferServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TransferServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TransferServiceBlockingStub>() {
        @java.lang.Override
        public TransferServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TransferServiceBlockingStub(channel, callOptions);
        }
      };
    return TransferServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static TransferServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TransferServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TransferServiceFutureStub>() {
        @java.lang.Override
        public TransferServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TransferServiceFutureStub(channel, callOptions);
        }
      };
    return TransferServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Offers files and folders (paths readable by the daemon) to a trusted peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, SOURCE_NOT_READABLE,
     * PERMISSION_DENIED_BY_PEER, INVALID_ARGUMENT (no paths).
     * </pre>
     */
    default void createTransfer(dev.kizuna.v1.CreateTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CreateTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Offers bytes the client streams itself, for apps that do not share a filesystem with the
     * daemon. The first message is a header; chunks follow in order. The transfer is offered as
     * soon as the header arrives (the peer may pull while the upload goes on). The daemon answers
     * twice: `started` right after the header (the transfer's ID and how many bytes of each file
     * it already holds, before any data is sent), then `finished` once every byte has arrived and
     * the client has closed its side. To continue an interrupted upload, send a header with the
     * same request_id (or its transfer_id) and the same files, then each file's chunks from the
     * offset `started` gives.
     * Errors: as CreateTransfer, plus INVALID_ARGUMENT (chunk out of order, more bytes than
     * declared, the upload ended before every file was complete), TRANSFER_NOT_FOUND,
     * TRANSFER_INVALID_STATE (continuing an upload that ended).
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.kizuna.v1.UploadTransferRequest> uploadTransfer(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.UploadTransferResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getUploadTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one transfer.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    default void getTransfer(dev.kizuna.v1.GetTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists transfers, newest first. Paginated; each transfer carries its first 100 entries.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    default void listTransfers(dev.kizuna.v1.ListTransfersRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransfersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTransfersMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the entries of one transfer, in sending order. Paginated.
     * Errors: TRANSFER_NOT_FOUND, INVALID_PAGE_TOKEN.
     * </pre>
     */
    default void listTransferFiles(dev.kizuna.v1.ListTransferFilesRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransferFilesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListTransferFilesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams progress of one transfer: the current state at once, then changes, ending after the
     * transfer reaches a final state.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    default void watchTransfer(dev.kizuna.v1.WatchTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.WatchTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Accepts an incoming offer, all files or some of them.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, TRANSFER_EXPIRED, INSUFFICIENT_STORAGE,
     * INVALID_ARGUMENT (a path not in the offer).
     * </pre>
     */
    default void acceptTransfer(dev.kizuna.v1.AcceptTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAcceptTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming offer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    default void rejectTransfer(dev.kizuna.v1.RejectTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRejectTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Cancels a transfer from either side; partial data is removed.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    default void cancelTransfer(dev.kizuna.v1.CancelTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCancelTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Pauses a running transfer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    default void pauseTransfer(dev.kizuna.v1.PauseTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.PauseTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPauseTransferMethod(), responseObserver);
    }

    /**
     * <pre>
     * Resumes a paused transfer from the last verified offset.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, PEER_UNREACHABLE.
     * </pre>
     */
    default void resumeTransfer(dev.kizuna.v1.ResumeTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ResumeTransferResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getResumeTransferMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service TransferService.
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public static abstract class TransferServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return TransferServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service TransferService.
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public static final class TransferServiceStub
      extends io.grpc.stub.AbstractAsyncStub<TransferServiceStub> {
    private TransferServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TransferServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TransferServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Offers files and folders (paths readable by the daemon) to a trusted peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, SOURCE_NOT_READABLE,
     * PERMISSION_DENIED_BY_PEER, INVALID_ARGUMENT (no paths).
     * </pre>
     */
    public void createTransfer(dev.kizuna.v1.CreateTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CreateTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Offers bytes the client streams itself, for apps that do not share a filesystem with the
     * daemon. The first message is a header; chunks follow in order. The transfer is offered as
     * soon as the header arrives (the peer may pull while the upload goes on). The daemon answers
     * twice: `started` right after the header (the transfer's ID and how many bytes of each file
     * it already holds, before any data is sent), then `finished` once every byte has arrived and
     * the client has closed its side. To continue an interrupted upload, send a header with the
     * same request_id (or its transfer_id) and the same files, then each file's chunks from the
     * offset `started` gives.
     * Errors: as CreateTransfer, plus INVALID_ARGUMENT (chunk out of order, more bytes than
     * declared, the upload ended before every file was complete), TRANSFER_NOT_FOUND,
     * TRANSFER_INVALID_STATE (continuing an upload that ended).
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.kizuna.v1.UploadTransferRequest> uploadTransfer(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.UploadTransferResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getUploadTransferMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Returns one transfer.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public void getTransfer(dev.kizuna.v1.GetTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists transfers, newest first. Paginated; each transfer carries its first 100 entries.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public void listTransfers(dev.kizuna.v1.ListTransfersRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransfersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTransfersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the entries of one transfer, in sending order. Paginated.
     * Errors: TRANSFER_NOT_FOUND, INVALID_PAGE_TOKEN.
     * </pre>
     */
    public void listTransferFiles(dev.kizuna.v1.ListTransferFilesRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransferFilesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListTransferFilesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams progress of one transfer: the current state at once, then changes, ending after the
     * transfer reaches a final state.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public void watchTransfer(dev.kizuna.v1.WatchTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.WatchTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Accepts an incoming offer, all files or some of them.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, TRANSFER_EXPIRED, INSUFFICIENT_STORAGE,
     * INVALID_ARGUMENT (a path not in the offer).
     * </pre>
     */
    public void acceptTransfer(dev.kizuna.v1.AcceptTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAcceptTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming offer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public void rejectTransfer(dev.kizuna.v1.RejectTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRejectTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Cancels a transfer from either side; partial data is removed.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public void cancelTransfer(dev.kizuna.v1.CancelTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCancelTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Pauses a running transfer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public void pauseTransfer(dev.kizuna.v1.PauseTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.PauseTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPauseTransferMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Resumes a paused transfer from the last verified offset.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, PEER_UNREACHABLE.
     * </pre>
     */
    public void resumeTransfer(dev.kizuna.v1.ResumeTransferRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ResumeTransferResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getResumeTransferMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service TransferService.
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public static final class TransferServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<TransferServiceBlockingV2Stub> {
    private TransferServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TransferServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TransferServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Offers files and folders (paths readable by the daemon) to a trusted peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, SOURCE_NOT_READABLE,
     * PERMISSION_DENIED_BY_PEER, INVALID_ARGUMENT (no paths).
     * </pre>
     */
    public dev.kizuna.v1.CreateTransferResponse createTransfer(dev.kizuna.v1.CreateTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Offers bytes the client streams itself, for apps that do not share a filesystem with the
     * daemon. The first message is a header; chunks follow in order. The transfer is offered as
     * soon as the header arrives (the peer may pull while the upload goes on). The daemon answers
     * twice: `started` right after the header (the transfer's ID and how many bytes of each file
     * it already holds, before any data is sent), then `finished` once every byte has arrived and
     * the client has closed its side. To continue an interrupted upload, send a header with the
     * same request_id (or its transfer_id) and the same files, then each file's chunks from the
     * offset `started` gives.
     * Errors: as CreateTransfer, plus INVALID_ARGUMENT (chunk out of order, more bytes than
     * declared, the upload ended before every file was complete), TRANSFER_NOT_FOUND,
     * TRANSFER_INVALID_STATE (continuing an upload that ended).
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.kizuna.v1.UploadTransferRequest, dev.kizuna.v1.UploadTransferResponse>
        uploadTransfer() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getUploadTransferMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Returns one transfer.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetTransferResponse getTransfer(dev.kizuna.v1.GetTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists transfers, newest first. Paginated; each transfer carries its first 100 entries.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListTransfersResponse listTransfers(dev.kizuna.v1.ListTransfersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListTransfersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the entries of one transfer, in sending order. Paginated.
     * Errors: TRANSFER_NOT_FOUND, INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListTransferFilesResponse listTransferFiles(dev.kizuna.v1.ListTransferFilesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListTransferFilesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams progress of one transfer: the current state at once, then changes, ending after the
     * transfer reaches a final state.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.kizuna.v1.WatchTransferResponse>
        watchTransfer(dev.kizuna.v1.WatchTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getWatchTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Accepts an incoming offer, all files or some of them.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, TRANSFER_EXPIRED, INSUFFICIENT_STORAGE,
     * INVALID_ARGUMENT (a path not in the offer).
     * </pre>
     */
    public dev.kizuna.v1.AcceptTransferResponse acceptTransfer(dev.kizuna.v1.AcceptTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAcceptTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming offer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.RejectTransferResponse rejectTransfer(dev.kizuna.v1.RejectTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRejectTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a transfer from either side; partial data is removed.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.CancelTransferResponse cancelTransfer(dev.kizuna.v1.CancelTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCancelTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pauses a running transfer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.PauseTransferResponse pauseTransfer(dev.kizuna.v1.PauseTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getPauseTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Resumes a paused transfer from the last verified offset.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, PEER_UNREACHABLE.
     * </pre>
     */
    public dev.kizuna.v1.ResumeTransferResponse resumeTransfer(dev.kizuna.v1.ResumeTransferRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getResumeTransferMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service TransferService.
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public static final class TransferServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<TransferServiceBlockingStub> {
    private TransferServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TransferServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TransferServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Offers files and folders (paths readable by the daemon) to a trusted peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, SOURCE_NOT_READABLE,
     * PERMISSION_DENIED_BY_PEER, INVALID_ARGUMENT (no paths).
     * </pre>
     */
    public dev.kizuna.v1.CreateTransferResponse createTransfer(dev.kizuna.v1.CreateTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one transfer.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetTransferResponse getTransfer(dev.kizuna.v1.GetTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists transfers, newest first. Paginated; each transfer carries its first 100 entries.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListTransfersResponse listTransfers(dev.kizuna.v1.ListTransfersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTransfersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the entries of one transfer, in sending order. Paginated.
     * Errors: TRANSFER_NOT_FOUND, INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListTransferFilesResponse listTransferFiles(dev.kizuna.v1.ListTransferFilesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListTransferFilesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams progress of one transfer: the current state at once, then changes, ending after the
     * transfer reaches a final state.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public java.util.Iterator<dev.kizuna.v1.WatchTransferResponse> watchTransfer(
        dev.kizuna.v1.WatchTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Accepts an incoming offer, all files or some of them.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, TRANSFER_EXPIRED, INSUFFICIENT_STORAGE,
     * INVALID_ARGUMENT (a path not in the offer).
     * </pre>
     */
    public dev.kizuna.v1.AcceptTransferResponse acceptTransfer(dev.kizuna.v1.AcceptTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAcceptTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming offer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.RejectTransferResponse rejectTransfer(dev.kizuna.v1.RejectTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRejectTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a transfer from either side; partial data is removed.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.CancelTransferResponse cancelTransfer(dev.kizuna.v1.CancelTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCancelTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Pauses a running transfer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public dev.kizuna.v1.PauseTransferResponse pauseTransfer(dev.kizuna.v1.PauseTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPauseTransferMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Resumes a paused transfer from the last verified offset.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, PEER_UNREACHABLE.
     * </pre>
     */
    public dev.kizuna.v1.ResumeTransferResponse resumeTransfer(dev.kizuna.v1.ResumeTransferRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getResumeTransferMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service TransferService.
   * <pre>
   * TransferService sends files and folders to peers, answers incoming offers and controls
   * running transfers. Every file is verified by SHA-256 per chunk and per file and appears under
   * its final name only once verified and fsynced.
   * </pre>
   */
  public static final class TransferServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<TransferServiceFutureStub> {
    private TransferServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TransferServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TransferServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Offers files and folders (paths readable by the daemon) to a trusted peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, SOURCE_NOT_READABLE,
     * PERMISSION_DENIED_BY_PEER, INVALID_ARGUMENT (no paths).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.CreateTransferResponse> createTransfer(
        dev.kizuna.v1.CreateTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one transfer.
     * Errors: TRANSFER_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.GetTransferResponse> getTransfer(
        dev.kizuna.v1.GetTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists transfers, newest first. Paginated; each transfer carries its first 100 entries.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListTransfersResponse> listTransfers(
        dev.kizuna.v1.ListTransfersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTransfersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the entries of one transfer, in sending order. Paginated.
     * Errors: TRANSFER_NOT_FOUND, INVALID_PAGE_TOKEN.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListTransferFilesResponse> listTransferFiles(
        dev.kizuna.v1.ListTransferFilesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListTransferFilesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Accepts an incoming offer, all files or some of them.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, TRANSFER_EXPIRED, INSUFFICIENT_STORAGE,
     * INVALID_ARGUMENT (a path not in the offer).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.AcceptTransferResponse> acceptTransfer(
        dev.kizuna.v1.AcceptTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAcceptTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Rejects an incoming offer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RejectTransferResponse> rejectTransfer(
        dev.kizuna.v1.RejectTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRejectTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Cancels a transfer from either side; partial data is removed.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.CancelTransferResponse> cancelTransfer(
        dev.kizuna.v1.CancelTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCancelTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Pauses a running transfer.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.PauseTransferResponse> pauseTransfer(
        dev.kizuna.v1.PauseTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPauseTransferMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Resumes a paused transfer from the last verified offset.
     * Errors: TRANSFER_NOT_FOUND, TRANSFER_INVALID_STATE, PEER_UNREACHABLE.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ResumeTransferResponse> resumeTransfer(
        dev.kizuna.v1.ResumeTransferRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getResumeTransferMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_TRANSFER = 0;
  private static final int METHODID_GET_TRANSFER = 1;
  private static final int METHODID_LIST_TRANSFERS = 2;
  private static final int METHODID_LIST_TRANSFER_FILES = 3;
  private static final int METHODID_WATCH_TRANSFER = 4;
  private static final int METHODID_ACCEPT_TRANSFER = 5;
  private static final int METHODID_REJECT_TRANSFER = 6;
  private static final int METHODID_CANCEL_TRANSFER = 7;
  private static final int METHODID_PAUSE_TRANSFER = 8;
  private static final int METHODID_RESUME_TRANSFER = 9;
  private static final int METHODID_UPLOAD_TRANSFER = 10;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_TRANSFER:
          serviceImpl.createTransfer((dev.kizuna.v1.CreateTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.CreateTransferResponse>) responseObserver);
          break;
        case METHODID_GET_TRANSFER:
          serviceImpl.getTransfer((dev.kizuna.v1.GetTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.GetTransferResponse>) responseObserver);
          break;
        case METHODID_LIST_TRANSFERS:
          serviceImpl.listTransfers((dev.kizuna.v1.ListTransfersRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransfersResponse>) responseObserver);
          break;
        case METHODID_LIST_TRANSFER_FILES:
          serviceImpl.listTransferFiles((dev.kizuna.v1.ListTransferFilesRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListTransferFilesResponse>) responseObserver);
          break;
        case METHODID_WATCH_TRANSFER:
          serviceImpl.watchTransfer((dev.kizuna.v1.WatchTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.WatchTransferResponse>) responseObserver);
          break;
        case METHODID_ACCEPT_TRANSFER:
          serviceImpl.acceptTransfer((dev.kizuna.v1.AcceptTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptTransferResponse>) responseObserver);
          break;
        case METHODID_REJECT_TRANSFER:
          serviceImpl.rejectTransfer((dev.kizuna.v1.RejectTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectTransferResponse>) responseObserver);
          break;
        case METHODID_CANCEL_TRANSFER:
          serviceImpl.cancelTransfer((dev.kizuna.v1.CancelTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelTransferResponse>) responseObserver);
          break;
        case METHODID_PAUSE_TRANSFER:
          serviceImpl.pauseTransfer((dev.kizuna.v1.PauseTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.PauseTransferResponse>) responseObserver);
          break;
        case METHODID_RESUME_TRANSFER:
          serviceImpl.resumeTransfer((dev.kizuna.v1.ResumeTransferRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ResumeTransferResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_UPLOAD_TRANSFER:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.uploadTransfer(
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.UploadTransferResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.CreateTransferRequest,
              dev.kizuna.v1.CreateTransferResponse>(
                service, METHODID_CREATE_TRANSFER)))
        .addMethod(
          getUploadTransferMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.UploadTransferRequest,
              dev.kizuna.v1.UploadTransferResponse>(
                service, METHODID_UPLOAD_TRANSFER)))
        .addMethod(
          getGetTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.GetTransferRequest,
              dev.kizuna.v1.GetTransferResponse>(
                service, METHODID_GET_TRANSFER)))
        .addMethod(
          getListTransfersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListTransfersRequest,
              dev.kizuna.v1.ListTransfersResponse>(
                service, METHODID_LIST_TRANSFERS)))
        .addMethod(
          getListTransferFilesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListTransferFilesRequest,
              dev.kizuna.v1.ListTransferFilesResponse>(
                service, METHODID_LIST_TRANSFER_FILES)))
        .addMethod(
          getWatchTransferMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.WatchTransferRequest,
              dev.kizuna.v1.WatchTransferResponse>(
                service, METHODID_WATCH_TRANSFER)))
        .addMethod(
          getAcceptTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.AcceptTransferRequest,
              dev.kizuna.v1.AcceptTransferResponse>(
                service, METHODID_ACCEPT_TRANSFER)))
        .addMethod(
          getRejectTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RejectTransferRequest,
              dev.kizuna.v1.RejectTransferResponse>(
                service, METHODID_REJECT_TRANSFER)))
        .addMethod(
          getCancelTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.CancelTransferRequest,
              dev.kizuna.v1.CancelTransferResponse>(
                service, METHODID_CANCEL_TRANSFER)))
        .addMethod(
          getPauseTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.PauseTransferRequest,
              dev.kizuna.v1.PauseTransferResponse>(
                service, METHODID_PAUSE_TRANSFER)))
        .addMethod(
          getResumeTransferMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ResumeTransferRequest,
              dev.kizuna.v1.ResumeTransferResponse>(
                service, METHODID_RESUME_TRANSFER)))
        .build();
  }

  private static abstract class TransferServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    TransferServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.TransferServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("TransferService");
    }
  }

  private static final class TransferServiceFileDescriptorSupplier
      extends TransferServiceBaseDescriptorSupplier {
    TransferServiceFileDescriptorSupplier() {}
  }

  private static final class TransferServiceMethodDescriptorSupplier
      extends TransferServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    TransferServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (TransferServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new TransferServiceFileDescriptorSupplier())
              .addMethod(getCreateTransferMethod())
              .addMethod(getUploadTransferMethod())
              .addMethod(getGetTransferMethod())
              .addMethod(getListTransfersMethod())
              .addMethod(getListTransferFilesMethod())
              .addMethod(getWatchTransferMethod())
              .addMethod(getAcceptTransferMethod())
              .addMethod(getRejectTransferMethod())
              .addMethod(getCancelTransferMethod())
              .addMethod(getPauseTransferMethod())
              .addMethod(getResumeTransferMethod())
              .build();
        }
      }
    }
    return result;
  }
}
